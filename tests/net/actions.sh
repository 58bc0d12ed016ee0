# actions.sh - every `else` action of `check` and of `ensure`, seen on the
# wire (the mock model server records each request body). One input item per
# action and form; each item's replies are scripted by its id. It proves:
#   retry      the re-ask is the same request plus one user message carrying
#              the failed check's text / the eval's failed assertion; the
#              re-asked reply is the item's result
#   retry 2    two re-asks, the last carrying both pieces of feedback
#   fallback   the re-ask goes to the other binding (another model name and
#              endpoint), with the feedback; only that binding's reply is good
#   warn       one request; a `warning` trace event naming the line; the
#              failing value is the item's output
#   fail       one request; the item is in --errors with the message and the
#              source position of the check / ensure
#   skip       one request; nothing written for the item, which --metrics
#              counts as skipped
# and the report counts one outcome per attempt. The run is the same at
# concurrency 1 and 8.
# Usage: sh actions.sh FLOWC MOCKSERVER
. "$(dirname "$0")/lib.sh" "$@"
cd "$TMP" || exit 2

# Each request names its item as "[id]". `times` hands out an item's replies
# in turn (an item's attempts are sequential); the fallback items get "good"
# only from the backup binding's endpoint (its base_url ends in /backup/v1).
cat > script.jsonl <<'JSON'
{"match": "[c-retry]", "times": 1, "reply": "bad"}
{"match": "[c-retry]", "reply": "good"}
{"match": "[c-retry2]", "times": 2, "reply": "bad"}
{"match": "[c-retry2]", "reply": "good"}
{"match": "[c-fallback]", "path": "/backup/", "reply": "good"}
{"match": "[e-retry]", "times": 1, "reply": "bad"}
{"match": "[e-retry]", "reply": "good"}
{"match": "[e-retry2]", "times": 2, "reply": "bad"}
{"match": "[e-retry2]", "reply": "good"}
{"match": "[e-fallback]", "path": "/backup/", "reply": "good"}
{"reply": "bad"}
JSON
start_mock --lifetime 120 --max-requests 400 --script script.jsonl

cat > actions.flow <<FLOW
model primary { provider: openai, name: "gpt-primary", base_url: "http://127.0.0.1:$PORT/v1", max_tokens: 50 }
model backup { provider: openai, name: "gpt-backup", base_url: "http://127.0.0.1:$PORT/backup/v1", max_tokens: 50 }
prompt draft(id: string) -> string {
  model: primary
  user "Draft a reply for [{{ id }}]"
}
eval is_good(r: string) {
  assert r == "good" "the draft must be good"
}
flow main(id: string) -> string {
  if id == "c-retry" {
    let r = draft(id)
    check r == "good" else retry
    yield id + ": " + r
  } else if id == "c-retry2" {
    let r = draft(id)
    check r == "good" else retry 2
    yield id + ": " + r
  } else if id == "c-fallback" {
    let r = draft(id)
    check r == "good" else fallback backup
    yield id + ": " + r
  } else if id == "c-warn" {
    let r = draft(id)
    check r == "good" else warn
    yield id + ": " + r
  } else if id == "c-fail" {
    let r = draft(id)
    check r == "good" else fail
    yield id + ": " + r
  } else if id == "c-skip" {
    let r = draft(id)
    check r == "good" else skip
    yield id + ": " + r
  } else if id == "e-retry" {
    let r = draft(id) ensure is_good else retry
    yield id + ": " + r
  } else if id == "e-retry2" {
    let r = draft(id) ensure is_good else retry 2
    yield id + ": " + r
  } else if id == "e-fallback" {
    let r = draft(id) ensure is_good else fallback backup
    yield id + ": " + r
  } else if id == "e-warn" {
    let r = draft(id) ensure is_good else warn
    yield id + ": " + r
  } else if id == "e-fail" {
    let r = draft(id) ensure is_good else fail
    yield id + ": " + r
  } else {
    let r = draft(id) ensure is_good else skip
    yield id + ": " + r
  }
}
FLOW
printf '"%s"\n' c-retry c-retry2 c-fallback c-warn c-fail c-skip \
  e-retry e-retry2 e-fallback e-warn e-fail e-skip > in.jsonl
export OPENAI_API_KEY=sk-test

# at: FILE:LINE:COLUMN of the first line holding TEXT, COLUMN where TEXT starts
at() { awk -v t="$1" 'index($0, t) { print "actions.flow:" NR ":" index($0, t); exit }' actions.flow; }
C_WARN=$(at 'check r == "good" else warn')
C_FAIL=$(at 'check r == "good" else fail')
E_WARN=$(at 'draft(id) ensure is_good else warn')
E_FAIL=$(at 'draft(id) ensure is_good else fail')

run "$FLOWC" run actions.flow --keep-going --concurrency 1 --input in.jsonl --output out.jsonl \
  --errors errors.jsonl --trace trace.jsonl --report report.json --metrics metrics.json
expect_status 1 "the fail items fail the run"
curl -s --noproxy '*' "http://127.0.0.1:$PORT/requests" > requests.jsonl

"$PYTHON" - "$C_WARN" "$C_FAIL" "$E_WARN" "$E_FAIL" <<'PY' > check.txt 2>&1
import json, re, sys
c_warn, c_fail, e_warn, e_fail = sys.argv[1:5]
fails = []
def want(cond, what):
    if not cond: fails.append(what)
out = [json.loads(l) for l in open("out.jsonl")]
errors = [json.loads(l) for l in open("errors.jsonl")]
trace = [json.loads(l) for l in open("trace.jsonl")]
report = json.load(open("report.json"))
metrics = json.load(open("metrics.json"))
reqs = [json.loads(l) for l in open("requests.jsonl")]
ids = ["c-retry", "c-retry2", "c-fallback", "c-warn", "c-fail", "c-skip",
       "e-retry", "e-retry2", "e-fallback", "e-warn", "e-fail", "e-skip"]
item = {i: n for n, i in enumerate(ids)}

# the requests of each item, in order; a message as (role, [its texts]):
# on OpenAI the feedback is a further text part of the last user message
def msgs(r):
    return [(m["role"], [m["content"]] if isinstance(m["content"], str) else [p["text"] for p in m["content"]])
            for m in r["body"]["messages"]]
by_id = {}
for r in reqs:
    m = re.search(r"\[([a-z0-9-]+)\]", msgs(r)[0][1][0])
    by_id.setdefault(m.group(1), []).append(r)
CHECK = 'Your previous answer was rejected: check failed: r == "good". Answer again, fixing this.'
EVAL = ('Your previous answer was rejected: eval `is_good` failed: the draft must be good. '
        'Answer again, fixing this.')
for form, fb in (("c", CHECK), ("e", EVAL)):
    # retry: the first ask, then the same message with the feedback
    ask = "Draft a reply for [%s-retry]" % form
    rs = by_id.get(form + "-retry", [])
    want(len(rs) == 2, "%s-retry: 2 requests, found %d" % (form, len(rs)))
    if len(rs) == 2:
        want(msgs(rs[0]) == [("user", [ask])], "%s-retry: the first ask: %s" % (form, msgs(rs[0])))
        want(msgs(rs[1]) == [("user", [ask, fb])], "%s-retry: the re-ask carries the feedback: %s" % (form, msgs(rs[1])))
        want(rs[0]["body"]["model"] == rs[1]["body"]["model"] == "gpt-primary", "%s-retry: both on the primary" % form)
    # retry 2: three asks, the last with both pieces of feedback
    ask = "Draft a reply for [%s-retry2]" % form
    rs = by_id.get(form + "-retry2", [])
    want(len(rs) == 3, "%s-retry2: 3 requests, found %d" % (form, len(rs)))
    if len(rs) == 3:
        want([msgs(r) for r in rs] == [[("user", [ask])], [("user", [ask, fb])], [("user", [ask, fb, fb])]],
             "%s-retry2: feedback accumulates: %s" % (form, [msgs(r) for r in rs]))
    # fallback: the second ask goes to the other binding, with the feedback
    ask = "Draft a reply for [%s-fallback]" % form
    rs = by_id.get(form + "-fallback", [])
    want(len(rs) == 2, "%s-fallback: 2 requests, found %d" % (form, len(rs)))
    if len(rs) == 2:
        want(rs[0]["body"]["model"] == "gpt-primary" and rs[0]["path"] == "/v1/chat/completions",
             "%s-fallback: first on the primary: %s %s" % (form, rs[0]["body"]["model"], rs[0]["path"]))
        want(rs[1]["body"]["model"] == "gpt-backup" and rs[1]["path"] == "/backup/v1/chat/completions",
             "%s-fallback: then on the backup: %s %s" % (form, rs[1]["body"]["model"], rs[1]["path"]))
        want(msgs(rs[1]) == [("user", [ask, fb])], "%s-fallback: the re-ask carries the feedback: %s" % (form, msgs(rs[1])))
    # warn, fail, skip: asked once
    for a in ("warn", "fail", "skip"):
        n = len(by_id.get(form + "-" + a, []))
        want(n == 1, "%s-%s: asked once, found %d requests" % (form, a, n))
want(sorted(by_id) == sorted(ids), "requests for every item and no other: %s" % sorted(by_id))

# results: the re-asked and fallen-back replies; warn keeps the failing value
want(out == ["c-retry: good", "c-retry2: good", "c-fallback: good", "c-warn: bad",
             "e-retry: good", "e-retry2: good", "e-fallback: good", "e-warn: bad"], "the outputs: %s" % out)
# fail: the item, the message and where
want(errors == [{"item": item["c-fail"], "error": 'check failed: r == "good" (at %s)' % c_fail},
                {"item": item["e-fail"], "error": "eval `is_good` failed: the draft must be good (at %s)" % e_fail}],
     "the errors: %s" % errors)
# skip: counted, not written, not an error
want(metrics["items"] == {"ok": 8, "failed": 2, "skipped": 2}, "the metrics' items: %s" % metrics["items"])
# warn: one warning event each, on its item, naming the line
warnings = [t for t in trace if t["event"] == "warning"]
want([(t["item"], t["at"], t["message"]) for t in warnings] ==
     [(item["c-warn"], c_warn, 'check failed: r == "good"'),
      (item["e-warn"], e_warn, "eval `is_good` failed: the draft must be good")], "the warnings: %s" % warnings)
# the trace's prompt events name the binding each attempt used
binds = [t["binding"] for t in trace if t["event"] == "prompt" and t["item"] == item["c-fallback"]]
want(binds == ["primary", "backup"], "c-fallback's trace bindings: %s" % binds)
# the report: one outcome per attempt, the last one passing after a re-ask
outcomes = {it["item"]: it["outcomes"] for it in report["items"]}
want([o["passed"] for o in outcomes[item["c-retry2"]]] == [False, False, True], "c-retry2 outcomes: %s" % outcomes.get(item["c-retry2"]))
want([o["passed"] for o in outcomes[item["e-fallback"]]] == [False, True], "e-fallback outcomes: %s" % outcomes.get(item["e-fallback"]))
want([(o["passed"], o.get("failed")) for o in outcomes[item["e-skip"]]] == [(False, ["the draft must be good"])],
     "e-skip outcomes: %s" % outcomes.get(item["e-skip"]))
print("OK" if not fails else "\n".join(fails))
PY
if [ "$(cat check.txt)" = OK ]; then pass; else fails=$((fails + 1)); echo "FAIL: the actions on the wire"; cat check.txt; fi

# the same at concurrency 8: same results, errors, trace and report
curl -s --noproxy '*' -X POST "http://127.0.0.1:$PORT/script" --data-binary @script.jsonl > /dev/null
run "$FLOWC" run actions.flow --keep-going --concurrency 8 --input in.jsonl --output out8.jsonl \
  --errors errors8.jsonl --trace trace8.jsonl --report report8.json
expect_status 1 "the run at concurrency 8"
for f in out errors trace; do
  if same_logical $f.jsonl ${f}8.jsonl; then pass; else fail "$f.jsonl differs at concurrency 8"; diff $f.jsonl ${f}8.jsonl; fi
done
if cmp -s report.json report8.json; then pass; else fail "the report differs at concurrency 8"; fi
finish
