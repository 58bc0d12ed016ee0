# judge_range.sh - `judge(m, ...)` gives a score in 0..1 (docs/language.md
# §3.7 and §5): the judge's request says so (its schema's "score" has minimum
# 0 and maximum 1), and a reply on another scale -- {"score": 7} from a model
# scoring 1-10, or {"score": -1} -- is refused, never recorded.
# Usage: sh judge_range.sh FLOWC MOCKSERVER
. "$(dirname "$0")/lib.sh" "$@"
cd "$TMP" || exit 2

cat > script.jsonl <<'JSON'
{"match": "Rate: [seven]", "reply": {"score": 7}}
{"match": "Rate: [minus]", "reply": {"score": -1}}
{"match": "Rate: [half]", "reply": {"score": 0.5}}
JSON
start_mock --lifetime 60 --max-requests 20 --script script.jsonl

cat > range.flow <<FLOW
model judge_o { provider: openai, name: "gpt-judge", base_url: "http://127.0.0.1:$PORT/v1", max_tokens: 50 }
eval helpful(r: string) {
  score s = judge(judge_o, "Rate: [{{ r }}]")
  assert s >= 0.5 "judged helpful"
}
flow main(id: string) -> string {
  let r = id ensure helpful else warn
  yield r
}
FLOW
printf '"%s"\n' seven minus half > in.jsonl
export OPENAI_API_KEY=sk-test

run "$FLOWC" run range.flow --keep-going --concurrency 1 --input in.jsonl --report report.json
"$PYTHON" - <<'PY' > check.txt 2>&1
import json
report = json.load(open("report.json"))
scores = [(it["item"], o["scores"]["s"]) for it in report["items"] for o in it["outcomes"] if "s" in o.get("scores", {})]
bad = [(i, s) for i, s in scores if not 0.0 <= s <= 1.0]
if (2, 0.5) not in scores:
    print("the in-range judge reply was not recorded as 0.5: %s" % scores)   # the test itself must work
elif bad:
    print("judge scores outside 0..1 were recorded (item, score): %s" % bad)
else:
    print("OK")
PY
if [ "$(cat check.txt)" = OK ]; then pass; else fails=$((fails + 1)); echo "FAIL: the judge's range"; cat check.txt; fi
finish
