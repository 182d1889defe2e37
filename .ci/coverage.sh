#!/usr/bin/env bash
# The test suite once, with line coverage of sim/, failing under 90%. `.ci/run` calls it.
# Code run by worker processes (--jobs, Dask) and by `python -m sim` subprocesses counts
# too: coverage's multiprocessing support and its subprocess patch. Arguments go to pytest
# (e.g. a test file, to look at one part's coverage). Leaves no data file in the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
cat > "$data/coveragerc" <<RC
[run]
source = sim
data_file = $data/coverage
parallel = true
concurrency = multiprocessing, thread
patch = subprocess
sigterm = true

[report]
skip_empty = true
RC

set +e
python3 -m pytest -q --cov=sim --cov-config="$data/coveragerc" --cov-report=term --cov-fail-under=90 "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: treating as a failure" >&2
  exit 1
fi
exit "$status"
