# example.sh - an example program, unchanged, runs against the project's
# mock server through the SDK-convention endpoint variables (no key needed
# on loopback): what README's one-liner does.
# Usage: sh example.sh FLOWC MOCKSERVER REPO_ROOT
. "$(dirname "$0")/../cli/lib.sh" "$1"
FLOWC=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")
MOCK=${2:?usage: sh example.sh FLOWC MOCKSERVER REPO_ROOT}
MOCK=$(cd "$(dirname "$MOCK")" && pwd)/$(basename "$MOCK")
ROOT=$(cd "${3:?usage: sh example.sh FLOWC MOCKSERVER REPO_ROOT}" && pwd)
cd "$TMP" || exit 2
"$MOCK" --port 0 --lifetime 60 > server.out 2> server.err &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$TMP"' EXIT
i=0
while [ ! -s server.out ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(head -1 server.out | sed 's/.*://')
run env -u OPENAI_API_KEY -u ANTHROPIC_API_KEY OPENAI_BASE_URL="http://127.0.0.1:$PORT/v1" \
  ANTHROPIC_BASE_URL="http://127.0.0.1:$PORT" "$FLOWC" run "$ROOT/examples/qa/qa.flow" \
  --input "$ROOT/examples/qa/qa.input.jsonl"
expect_status 0 "examples/qa against the mock server"
lines=$(wc -l < "$TMP/out")
inputs=$(wc -l < "$ROOT/examples/qa/qa.input.jsonl")
if [ "$lines" -eq "$inputs" ]; then pass; else fails=$((fails + 1)); echo "FAIL: $lines results for $inputs questions"; fi
requests=$(curl -s "http://127.0.0.1:$PORT/stats" | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d["endpoints"]["openai"] + d["endpoints"]["anthropic"])')
if [ "$requests" -ge "$inputs" ]; then pass; else fails=$((fails + 1)); echo "FAIL: the mock server saw $requests model requests"; fi
finish
