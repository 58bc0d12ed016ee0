# example.sh - an example program, unchanged, runs against the project's
# mock server through the SDK-convention endpoint variables (no key needed
# on loopback): what README's one-liner does.
# Usage: sh example.sh FLOWC MOCKSERVER REPO_ROOT
. "$(dirname "$0")/lib.sh" "$@"
ROOT=$(cd "${3:?usage: sh example.sh FLOWC MOCKSERVER REPO_ROOT}" && pwd)
cd "$TMP" || exit 2
start_mock --lifetime 60
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
