# example.sh - an example program, unchanged, runs against the project's
# mock server through the SDK-convention endpoint variables (no key needed
# on loopback): what README's one-liner does. Then what README says next,
# with the default store beside a copy of the example: run it again and the
# summary shows every call served from the cache, with no request; edit a
# prompt, run, and `flowc runs diff` names the prompt and its changed line.
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

# again, from a copy with its default store (.flow/store.db beside it)
cp -r "$ROOT/examples/qa" qa && rm -rf qa/.flow # a store of its own
unset FLOW_STORE
qa() { run env -u OPENAI_API_KEY -u ANTHROPIC_API_KEY OPENAI_BASE_URL="http://127.0.0.1:$PORT/v1" \
  ANTHROPIC_BASE_URL="http://127.0.0.1:$PORT" "$FLOWC" run qa/qa.flow --input qa/qa.input.jsonl; }
count() { curl -s "http://127.0.0.1:$PORT/stats" | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d["endpoints"]["openai"] + d["endpoints"]["anthropic"])'; }
qa
expect_status 0 "the copy's first run"
before=$(count)
qa
expect_status 0 "the second run"
after=$(count)
if [ "$before" = "$after" ]; then pass; else fails=$((fails + 1)); echo "FAIL: the second run made $((after - before)) requests"; fi
total=$(grep "^  total" "$TMP/err")
calls=$(echo "$total" | awk '{print $2}')
cached=$(echo "$total" | awk '{print $3}')
if [ -n "$calls" ] && [ "$calls" -gt 0 ] && [ "$calls" = "$cached" ]; then pass; else
  fails=$((fails + 1)); echo "FAIL: the summary shows every call cached, found: $total"; cat "$TMP/err"; fi
sed -i 's/You answer employees. questions using only the handbook pages given./You answer questions from employees using only the handbook pages given./' qa/qa.flow
qa
expect_status 0 "the run after the edit"
run "$FLOWC" runs diff --store qa/.flow/store.db
expect_status 0 "flowc runs diff"
expect_contains out "  changed  prompt answer_question  " "the edited prompt is named"
expect_contains out "      +     You answer questions from employees using only the handbook pages given. Every" "its new line"
finish
