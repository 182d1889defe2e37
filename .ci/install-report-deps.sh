#!/usr/bin/env bash
# Report tests: Debian's chromium (headless page check and screenshot) and a Japanese font for
# the page's text. The charts' Japanese font comes with the Python install (japanize-matplotlib).
# Idempotent; installs only what is missing.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "IPAexGothic" || missing+=(fonts-ipaexfont-gothic)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-report-deps: need root to install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
/usr/bin/chromium --version
