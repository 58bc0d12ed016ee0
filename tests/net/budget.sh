# budget.sh - --max-calls / --max-cost stop issuing model calls, finish
# cleanly, say what was not done and exit with status 3; --metrics reports
# calls, tokens and cost (priced from the binding) per prompt.
# Usage: sh budget.sh FLOWC MOCKSERVER
. "$(dirname "$0")/lib.sh" "$@"
cd "$TMP" || exit 2
start_mock --lifetime 60
cat > b.flow <<FLOW
model m {
  provider: openai, name: "gpt-x", base_url: "http://127.0.0.1:$PORT/v1", max_tokens: 20
  price { input: 2.0 per 1M, output: 8.0 per 1M }
}
prompt say(t: string) -> string {
  model: m
  user "Say {{ t }}"
}
flow main(t: string) -> string { yield say(t) }
FLOW
i=0; while [ $i -lt 20 ]; do printf '"item %d"\n' $i; i=$((i + 1)); done > in.jsonl

run "$FLOWC" run b.flow --input in.jsonl --concurrency 1 --max-calls 4 --metrics m.json
expect_status 3 "--max-calls ends the run with status 3"
expect_contains err "the budget ran out (--max-calls 4 reached)" "the budget message"
lines=$(wc -l < "$TMP/out")
if [ "$lines" -eq 4 ]; then pass; else fails=$((fails + 1)); echo "FAIL: expected 4 results before the budget, found $lines"; fi
"$PYTHON" - m.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
t = m["total"]
ok = t["calls"] == 4 and t["input_tokens"] > 0 and t["output_tokens"] > 0
expected = t["input_tokens"] * 2.0e-6 + t["output_tokens"] * 8.0e-6
ok = ok and abs(t["cost_usd"] - expected) < 1e-12 and m["prompts"]["say"]["calls"] == 4
print("metrics:", json.dumps(t))
sys.exit(0 if ok else 1)
PY
if [ $? -eq 0 ]; then pass; else fails=$((fails + 1)); echo "FAIL: metrics do not match the calls and the binding's price"; fi

run "$FLOWC" run b.flow --input in.jsonl --concurrency 1 --max-cost 0.0000001
expect_status 3 "--max-cost ends the run with status 3"
expect_contains err "--max-cost" "the cost budget message"
run "$FLOWC" run b.flow --input in.jsonl --max-cost nothing
expect_status 2 "a malformed --max-cost"
finish
