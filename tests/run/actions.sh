# actions.sh - every `else` action of `check` and `ensure`, offline.
#  1. `flowc test tests/testcmd/actions.flow`: each action's own test passes
#     (required by name): retry, retry N, fallback, warn and fail return the
#     right value; skip drops a loop iteration.
#  2. `flowc test tests/testcmd/actions_fail.flow`, whose tests all end in an
#     error: the exact message of each (fail names the check's or the eval's
#     line; spent retries and fallbacks say after how many attempts; a skip
#     outside a loop is reported as such).
#  3. `flowc run --mock` with --trace, --report, --errors, --metrics and
#     --record, one item per action and form (the conditions fail by the
#     item's id, whatever the mock replies): warn writes a `warning` trace
#     event naming the line and the item's output; fail writes the item to
#     --errors with the source position; skip writes nothing and --metrics
#     counts it as skipped (a skip in a loop drops only the iteration);
#     retry re-asks with the check's text as feedback (in the recorded
#     request) until its attempts are spent; fallback re-asks on the other
#     binding (trace and recorded request); the report counts each attempt.
#     The same at concurrency 8 with seeded latencies.
# The same actions against the mock model server: tests/net/actions.sh.
# Usage: sh actions.sh FLOWC REPO_ROOT
. "$(dirname "$0")/../cli/lib.sh" "$1"
ROOT=$(cd "${2:?usage: sh actions.sh FLOWC REPO_ROOT}" && pwd)
FLOWC=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")
cd "$TMP" || exit 2
cp "$ROOT/tests/testcmd/actions.flow" "$ROOT/tests/testcmd/actions_fail.flow" .

# at FILE TEXT: FILE:LINE:COLUMN of the first line holding TEXT, where TEXT starts
at() { awk -v t="$2" 'index($0, t) { print FILENAME ":" NR ":" index($0, t); exit }' "$1"; }

# ---- 1. the passing tests, each by name --------------------------------------
run "$FLOWC" test actions.flow
expect_status 0 "flowc test actions.flow"
while IFS= read -r name; do
  expect_contains out "  ok    $name" "test \"$name\""
done <<'NAMES'
check else retry: the re-asked reply is returned
check else retry: a reply that passes is not re-asked
check else retry: one re-ask by default
check else retry 2: a third reply is asked for
check else fallback: the fallback's reply is returned
check else warn: the failing value is returned, not re-asked
check else fail: the call fails, nothing is re-asked
check else fail: a value that passes goes through
check else skip: drops the loop iteration
check else skip: in a sub-flow, drops the caller's iteration
ensure else retry: the re-asked reply is returned
ensure else retry: one re-ask by default
ensure else retry 2: a third reply is asked for
ensure else retry: a low judge score re-asks, the next is judged again
ensure else fallback: the fallback's reply is returned
ensure else warn: the failing value is returned, not re-asked
ensure else fail: the call fails, nothing is re-asked
ensure else fail: a value that passes goes through
ensure else skip: drops the loop iteration
pass_rate: a trial that took a warn did not pass
pass_rate: a trial that recovered by retry passed
NAMES
expect_contains out "flowc test: 21 tests in 1 file: 21 passed, 0 failed, 0 errors" "every action test passes"

# ---- 2. the failures, each message exactly -------------------------------------
run "$FLOWC" test actions_fail.flow
expect_status 1 "flowc test actions_fail.flow (every test ends in an error)"
F=actions_fail.flow
CHECK='check failed: r == "good"'
EVAL='eval `is_good` failed: the draft must be good'
while IFS='|' read -r name message; do
  expect_contains out "  ERROR $name" "test \"$name\" is an error"
  expect_contains out "error: \"$name\" did not run to its end: $message" "the error of \"$name\""
done <<MESSAGES
check else fail: the item fails naming the check|$CHECK (at $(at $F 'check r == "good" else fail'))
check else retry: spent after one re-ask|$CHECK (after 2 attempts) (at $(at $F 'check r == "good" else retry'))
check else retry 2: spent after two re-asks|$CHECK (after 3 attempts) (at $(at $F 'check r == "good" else retry 2'))
check else fallback: the fallback's reply fails too|$CHECK (after 2 attempts) (at $(at $F 'check r == "good" else fallback'))
check else skip: outside a loop, drops the whole call|the test was skipped by a \`skip\` action; expected it to run to its end
ensure else fail: the item fails naming the eval|$EVAL (at $(at $F 'draft(t) ensure is_good else fail'))
ensure else retry: spent after one re-ask|$EVAL (after 2 attempts) (at $(at $F 'draft(t) ensure is_good else retry'))
ensure else retry 2: spent after two re-asks|$EVAL (after 3 attempts) (at $(at $F 'draft(t) ensure is_good else retry 2'))
ensure else fallback: the fallback's reply fails too|$EVAL (after 2 attempts) (at $(at $F 'draft(t) ensure is_good else fallback'))
ensure else skip: outside a loop, drops the whole call|the test was skipped by a \`skip\` action; expected it to run to its end
MESSAGES
expect_contains out "flowc test: 10 tests in 1 file: 0 passed, 0 failed, 10 errors" "every failure test is an error"
if grep -q "asked for one more" "$TMP/out"; then fail "a mocked sequence ran out: an action asked more than it may"; else pass; fi

# ---- 3. flowc run --mock: trace, report, errors, metrics, recorded requests ---
cat > a.flow <<'FLOW'
model primary { provider: openai, name: "gpt-primary", max_tokens: 100 }
model backup { provider: anthropic, name: "claude-backup", max_tokens: 100 }
prompt draft(id: string) -> string {
  model: primary
  user "Draft a reply for {{ id }}"
}
eval fine(r: string, id: string) {
  assert len(r) > 0 "says something"
  assert id == "plain" "only the plain item passes"
}
flow main(id: string) -> string {
  if id == "c-retry" {
    let r = draft(id)
    check r != "" and id != "c-retry" else retry
    yield id + ": " + r
  } else if id == "c-fallback" {
    let r = draft(id)
    check r != "" and id != "c-fallback" else fallback backup
    yield id + ": " + r
  } else if id == "c-warn" {
    let r = draft(id)
    check r != "" and id != "c-warn" else warn
    yield id + ": " + r
  } else if id == "c-fail" {
    let r = draft(id)
    check r != "" and id != "c-fail" else fail
    yield id + ": " + r
  } else if id == "c-skip" {
    let r = draft(id)
    check r != "" and id != "c-skip" else skip
    yield id + ": " + r
  } else if id == "loop-skip" {
    let kept = for w in ["one", "two", "three"] {
      check w != "two" else skip
      yield w
    }
    yield id + ": " + join(kept, ",")
  } else if id == "e-retry" {
    let r = draft(id) ensure fine(id) else retry 2
    yield id + ": " + r
  } else if id == "e-fallback" {
    let r = draft(id) ensure fine(id) else fallback backup
    yield id + ": " + r
  } else if id == "e-warn" {
    let r = draft(id) ensure fine(id) else warn
    yield id + ": " + r
  } else if id == "e-fail" {
    let r = draft(id) ensure fine(id) else fail
    yield id + ": " + r
  } else if id == "e-skip" {
    let r = draft(id) ensure fine(id) else skip
    yield id + ": " + r
  } else {
    let r = draft(id) ensure fine(id) else fail
    yield id + ": " + r
  }
}
FLOW
printf '"%s"\n' plain c-retry c-fallback c-warn c-fail c-skip loop-skip \
  e-retry e-fallback e-warn e-fail e-skip > in.jsonl

run "$FLOWC" run a.flow --mock --keep-going --concurrency 1 --input in.jsonl --output out.jsonl \
  --errors errors.jsonl --trace trace.jsonl --report report.json --metrics metrics.json --record rec.jsonl
expect_status 1 "a run in which some items fail"
expect_contains err "flowc: item 4 failed: check failed: r != \"\" and id != \"c-fail\" (at $(at a.flow 'check r != "" and id != "c-fail"'))" \
  "stderr names the failed item and the check's line"

"$PYTHON" - "$(at a.flow 'check r != "" and id != "c-warn"')" "$(at a.flow 'draft(id) ensure fine(id) else warn')" \
  "$(at a.flow 'check r != "" and id != "c-fail"')" "$(at a.flow 'draft(id) ensure fine(id) else fail')" \
  "$(at a.flow 'check r != "" and id != "c-retry"')" "$(at a.flow 'draft(id) ensure fine(id) else retry')" \
  "$(at a.flow 'check r != "" and id != "c-fallback"')" "$(at a.flow 'draft(id) ensure fine(id) else fallback')" \
  <<'PY' > check.txt 2>&1
import json, sys
c_warn, e_warn, c_fail, e_fail, c_retry, e_retry, c_fb, e_fb = sys.argv[1:9]
fails = []
def want(cond, what):
    if not cond: fails.append(what)
ids = [json.loads(l) for l in open("in.jsonl")]
item = {i: n for n, i in enumerate(ids)}
out = [json.loads(l) for l in open("out.jsonl")]
errors = [json.loads(l) for l in open("errors.jsonl")]
trace = [json.loads(l) for l in open("trace.jsonl")]
report = json.load(open("report.json"))
metrics = json.load(open("metrics.json"))
rec = [json.loads(l) for l in open("rec.jsonl")][1:]
def events(i, kind): return [t for t in trace if t["item"] == item[i] and t["event"] == kind]

# output: the plain item, the two warned items with their failing values, the
# loop without its skipped iteration; nothing for failed or skipped items
want([o.split(": ")[0] for o in out] == ["plain", "c-warn", "loop-skip", "e-warn"], "the items written: %s" % out)
want("loop-skip: one,three" in out, "the loop's skipped iteration is dropped: %s" % out)
want(all(len(o.split(": ", 1)[1]) > 0 for o in out), "each output carries the reply")
# warn: one warning event each, naming the line and what failed
ws = [(t["item"], t["at"], t["message"]) for t in trace if t["event"] == "warning"]
want(ws == [(item["c-warn"], c_warn, 'check failed: r != "" and id != "c-warn"'),
            (item["e-warn"], e_warn, "eval `fine` failed: only the plain item passes")], "the warnings: %s" % ws)
# fail, and spent retries and fallbacks: --errors with the source position
want(errors == [
    {"item": item["c-retry"], "error": 'check failed: r != "" and id != "c-retry" (after 2 attempts) (at %s)' % c_retry},
    {"item": item["c-fallback"], "error": 'check failed: r != "" and id != "c-fallback" (after 2 attempts) (at %s)' % c_fb},
    {"item": item["c-fail"], "error": 'check failed: r != "" and id != "c-fail" (at %s)' % c_fail},
    {"item": item["e-retry"], "error": "eval `fine` failed: only the plain item passes (after 3 attempts) (at %s)" % e_retry},
    {"item": item["e-fallback"], "error": "eval `fine` failed: only the plain item passes (after 2 attempts) (at %s)" % e_fb},
    {"item": item["e-fail"], "error": "eval `fine` failed: only the plain item passes (at %s)" % e_fail}],
    "the errors: %s" % json.dumps(errors, indent=1))
# skip: counted as skipped, neither written nor an error
want(metrics["items"] == {"ok": 4, "failed": 6, "skipped": 2}, "the metrics' items: %s" % metrics["items"])
# each attempt is one model call: plain 1, c-retry 2, c-fallback 2, c-warn/fail/skip 1 each,
# e-retry 3, e-fallback 2, e-warn/fail/skip 1 each
want(metrics["prompts"]["draft"]["calls"] == 16, "the calls: %s" % metrics["prompts"]["draft"])
# retry: the prompt asked again on the same binding, each time a new request
for i, n in (("c-retry", 2), ("e-retry", 3)):
    ps = events(i, "prompt")
    want([p["binding"] for p in ps] == ["primary"] * n and len({p["key"] for p in ps}) == n,
         "%s: %d asks on the primary, each a different request: %s" % (i, n, ps))
# fallback: the second ask on the other binding
for i in ("c-fallback", "e-fallback"):
    want([p["binding"] for p in events(i, "prompt")] == ["primary", "backup"], "%s's bindings: %s" % (i, events(i, "prompt")))
for i in ("c-warn", "c-fail", "c-skip", "e-warn", "e-fail", "e-skip"):
    want(len(events(i, "prompt")) == 1, "%s is asked once: %s" % (i, events(i, "prompt")))
# the recorded requests: the re-ask carries the feedback; the fallback's goes to the backup's model
FB = "Your previous answer was rejected: %s. Answer again, fixing this."
def asks(i): return [r["request"] for r in rec if r["request"]["messages"][0]["text"] == "Draft a reply for " + i]
want([[m["text"] for m in q["messages"]] for q in asks("c-retry")] ==
     [["Draft a reply for c-retry"], ["Draft a reply for c-retry", FB % 'check failed: r != "" and id != "c-retry"']],
     "c-retry's recorded requests: %s" % asks("c-retry"))
e_fb_msg = FB % "eval `fine` failed: only the plain item passes"
want([[m["text"] for m in q["messages"]] for q in asks("e-retry")] ==
     [["Draft a reply for e-retry"], ["Draft a reply for e-retry", e_fb_msg],
      ["Draft a reply for e-retry", e_fb_msg, e_fb_msg]], "e-retry's recorded requests: %s" % asks("e-retry"))
for i in ("c-fallback", "e-fallback"):
    want([q["binding"]["model"] for q in asks(i)] == ["gpt-primary", "claude-backup"], "%s's recorded models: %s" % (i, asks(i)))
# the report: one outcome per attempt; a skipped item keeps its failed check
outcomes = {it["item"]: [o["passed"] for o in it["outcomes"]] for it in report["items"]}
for i, want_o in (("plain", [True]), ("c-retry", [False, False]), ("c-fallback", [False, False]), ("c-warn", [False]),
                  ("c-skip", [False]), ("loop-skip", [True, False, True]), ("e-retry", [False] * 3),
                  ("e-fallback", [False, False]), ("e-skip", [False])):
    want(outcomes.get(item[i]) == want_o, "%s's outcomes: %s" % (i, outcomes.get(item[i])))
print("OK" if not fails else "\n".join(fails))
PY
if [ "$(cat check.txt)" = OK ]; then pass; else fails=$((fails + 1)); echo "FAIL: the actions in a --mock run"; cat check.txt; fi

# the same at concurrency 8 with seeded latencies: byte for byte (but for the
# metrics' latencies, which the seed draws)
run "$FLOWC" run a.flow --mock --keep-going --concurrency 8 --seed 7 --input in.jsonl --output out8.jsonl \
  --errors errors8.jsonl --trace trace8.jsonl --report report8.json --metrics metrics8.json
expect_status 1 "the run at concurrency 8"
for m in metrics metrics8; do grep -v '"p[59][05]_ms"' $m.json > $m.counts; done
for f in out.jsonl errors.jsonl trace.jsonl report.json metrics.counts; do
  if same_logical "$f" "$(echo "$f" | sed 's/\./8./')"; then pass; else fail "$f differs at concurrency 8"; fi
done
finish
