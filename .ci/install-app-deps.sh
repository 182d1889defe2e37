#!/usr/bin/env bash
# Browser tests of orgsim app (tests/test_app.py): Playwright (from the test extra) drives
# Debian's chromium through executable_path, so no browser build is ever downloaded (never run
# `playwright install`). Idempotent; installs only what is missing.
set -euo pipefail

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-app-deps: need root to install chromium" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
/usr/bin/chromium --version
python3 -c "import playwright, shiny; print('install-app-deps: shiny', shiny.__version__)"
