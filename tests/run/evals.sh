# evals.sh - evaluation outcomes of a run: every `ensure` (its eval, each
# assertion, each score) and every `check` is counted per item; the summary
# on stderr gives pass rates per eval, assertion and check; --report writes
# each item's outcomes and the totals as JSON, identical at any concurrency;
# the trace carries one event per outcome.
# Usage: sh evals.sh FLOWC
. "$(dirname "$0")/../cli/lib.sh" "$1"
FLOWC=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")
cd "$TMP" || exit 2

cat > e.flow <<'FLOW'
model m { provider: mock, name: "mock-1", max_tokens: 100 }
type Item { id: int, text: string }
type Answer { text: string, confidence: float }
prompt answer(t: string) -> Answer {
  model: m
  user "Answer: {{ t }}"
}
eval sound(a: Answer, id: int) {
  assert len(a.text) > 0 "says something"
  assert id % 2 == 0 "even items only"
  score conf = a.confidence
  assert id < 100 "small ids"
}
flow main(item: Item) -> string {
  check item.id != 3 else skip
  let a = answer(item.text) ensure sound(item.id) else warn
  check a.confidence >= 0.0 else warn
  yield a.text
}
FLOW
printf '{"id":%d,"text":"question %d"}\n' 0 0 1 1 2 2 3 3 4 4 5 5 > in.jsonl

run "$FLOWC" run e.flow --mock --input in.jsonl --report r1.json --trace t1.jsonl --concurrency 1
expect_status 0 "a run with evals"
expect_contains err "flowc: evaluation" "the summary is printed"
expect_contains err "eval sound" "the summary names the eval"
expect_contains err 'assert "even items only"' "the summary names each assertion"
expect_contains err "score conf" "the summary gives each score"
expect_contains err "check item.id != 3 (e.flow:15:3)" "the summary names each check and where it is"
cp err summary1.txt

run "$FLOWC" run e.flow --mock --input in.jsonl --report r8.json --trace t8.jsonl --concurrency 8
expect_status 0 "the same run at concurrency 8"
if cmp -s r1.json r8.json; then pass; else fail "the report differs between concurrency 1 and 8"; fi
if cmp -s t1.jsonl t8.jsonl; then pass; else fail "the trace differs between concurrency 1 and 8"; fi
if cmp -s summary1.txt err; then pass; else fail "the summary differs between concurrency 1 and 8"; fi

# the report's totals agree with its items, and with what the program must give
"$PYTHON" - r1.json t1.jsonl <<'PY' > check.txt 2>&1
import json, sys
r = json.load(open(sys.argv[1]))
trace = [json.loads(l) for l in open(sys.argv[2])]
fails = []
def want(cond, what):
    if not cond: fails.append(what)
items = {it["item"]: it["outcomes"] for it in r["items"]}
want(sorted(items) == [0, 1, 2, 3, 4, 5], "every item has outcomes: %s" % sorted(items))
want(items[3] == [{"event": "check", "check": "item.id != 3", "at": "e.flow:15:3", "passed": False}],
     "the skipped item records only its failed check: %s" % items[3])
evals = [o for os in items.values() for o in os if o["event"] == "eval"]
want(len(evals) == 5, "one eval outcome per item that ran the ensure: %d" % len(evals))
for o in evals:
    want(set(o["scores"]) == {"conf"}, "each eval outcome has its score")
odd = [o for o in evals if not o["passed"]]
want(all(o["failed"] == ["even items only"] for o in odd), "odd items fail exactly the parity assertion: %s" % odd)
ev = r["evals"]
want(len(ev) == 1 and ev[0]["eval"] == "sound", "one eval in the totals")
e = ev[0]
want(e["runs"] == 5 and e["passed"] == 3 and abs(e["pass_rate"] - 0.6) < 1e-12, "eval totals: %s" % e)
asserts = {a["assert"]: a for a in e["asserts"]}
want(asserts["says something"]["runs"] == 5, "an assertion that always runs counts every run")
want(asserts["even items only"]["passed"] == 3 and asserts["even items only"]["runs"] == 5, "parity assertion totals")
want(asserts["small ids"]["pass_rate"] == 1.0, "an assertion that always passes has pass rate 1")
s = e["scores"][0]
confs = [o["scores"]["conf"] for o in evals]
want(s["n"] == 5 and s["min"] == min(confs) and s["max"] == max(confs), "score totals match the items: %s" % s)
checks = {c["check"]: c for c in r["checks"]}
want(checks["item.id != 3"]["runs"] == 6 and checks["item.id != 3"]["passed"] == 5, "skip check totals")
want(checks["a.confidence >= 0.0"]["runs"] == 5, "the second check ran for every item not skipped")
tr = [t for t in trace if t.get("event") in ("eval", "check")]
want(len(tr) == sum(len(os) for os in items.values()), "one trace event per outcome")
print("OK" if not fails else "\n".join(fails))
PY
if [ "$(cat check.txt)" = OK ]; then pass; else fails=$((fails + 1)); echo "FAIL: report contents"; cat check.txt; fi

# a report that cannot be written is an error that names it
run "$FLOWC" run e.flow --mock --input in.jsonl --report /nonexistent/dir/r.json
expect_status 2 "an unwritable report"
expect_contains err "cannot write report \`/nonexistent/dir/r.json\`" "the unwritable report is named"

# a program without evals or checks prints no summary
cat > plain.flow <<'FLOW'
flow main(x: int) -> int { yield x + 1 }
FLOW
printf '1\n2\n' > n.jsonl
run "$FLOWC" run plain.flow --input n.jsonl --report plain.json
expect_status 0 "a run without evals"
if grep -q "evaluation" err; then fail "a summary without outcomes"; else pass; fi
expect_equals plain.json '{"items":[],"evals":[],"checks":[]}' "an empty report is still a report"
finish
