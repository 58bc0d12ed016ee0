#!/bin/sh
# run.sh - run every benchmark in bench/ (`make bench`).
# Uses the flowc at build/flowc unless FLOWC names another; extra arguments
# are passed to each benchmark (e.g. --json). Exits non-zero if one fails.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
FLOWC=${FLOWC:-$root/build/flowc}
export FLOWC
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

status=0
for bench in check_bench run_bench net_bench native_bench store_bench; do
  echo "== $bench"
  "$PY" "$here/$bench.py" --flowc "$FLOWC" "$@" || status=1
done
echo "== provider_bench"
"$(dirname "$FLOWC")/provider_bench" || status=1
exit $status
