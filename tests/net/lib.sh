# lib.sh - the network tests' shared set-up. `. lib.sh FLOWC MOCKSERVER ...`
# (from a test in this directory) loads the CLI test helpers, makes FLOWC and
# MOCK absolute paths and defines start_mock. Whatever runs in the background
# is stopped and $TMP removed on exit: add process ids to $extra_pids.
. "$(dirname "$0")/../cli/lib.sh" "$1"
FLOWC=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")
MOCK=${2:?usage: sh $0 FLOWC MOCKSERVER ...}
MOCK=$(cd "$(dirname "$MOCK")" && pwd)/$(basename "$MOCK")
server=
extra_pids=
trap 'kill $server $extra_pids 2>/dev/null; rm -rf "$TMP"' EXIT

# start_mock ARGS...: start the mock model server on a free port (its number
# in PORT), run from the current directory with flow_mockserver's ARGS.
start_mock() {
  "$MOCK" --port 0 "$@" > server.out 2> server.err &
  server=$!
  i=0
  while [ ! -s server.out ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  PORT=$(head -1 server.out | sed 's/.*://')
  [ -n "$PORT" ] || { echo "the mock server did not start"; cat server.err; exit 1; }
}
