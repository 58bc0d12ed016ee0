# judge.sh - `score s = judge(m, "...")` in an eval, with `m` an openai and
# then an anthropic binding pointed at the mock model server. It proves:
#   - the judge's request carries the judge's structured-output schema (an
#     object with a number `score`): openai in `response_format`
#     (json_schema, strict), anthropic as the input_schema of a forced tool;
#     its only message is the rendered rubric;
#   - a scripted {"score": 0.42} fails `assert s >= 0.5`; `ensure ... else
#     retry` then re-asks the judged prompt (not the judge) with the
#     assertion's message as feedback, the new reply is judged again, and a
#     0.9 passes: the re-asked reply is the item's result;
#   - --report lists each attempt's outcome with its score (0.42, then 0.9);
#   - a judge reply whose score is not a number ({"score": "high"}) fails
#     the item with a message about the judge's reply at the judge call.
# Usage: sh judge.sh FLOWC MOCKSERVER
. "$(dirname "$0")/lib.sh" "$@"
cd "$TMP" || exit 2

# Drafts are scripted by item ("[id]" in the request), judges by the draft
# they rate ("Rate: DRAFT"): drafts never contain "Rate:", rubrics never "[".
cat > script.jsonl <<'JSON'
{"match": "[o-retry]", "times": 1, "reply": "first-o"}
{"match": "[o-retry]", "reply": "second-o"}
{"match": "[a-retry]", "times": 1, "reply": "first-a"}
{"match": "[a-retry]", "reply": "second-a"}
{"match": "[o-high]", "reply": "high-o"}
{"match": "[a-high]", "reply": "high-a"}
{"match": "Rate: first-", "reply": {"score": 0.42}}
{"match": "Rate: second-", "reply": {"score": 0.9}}
{"match": "Rate: high-", "reply": {"score": "high"}}
JSON
start_mock --lifetime 120 --max-requests 100 --script script.jsonl

cat > judge.flow <<FLOW
model writer { provider: openai, name: "gpt-writer", base_url: "http://127.0.0.1:$PORT/v1", max_tokens: 50 }
model judge_o { provider: openai, name: "gpt-judge", base_url: "http://127.0.0.1:$PORT/v1", max_tokens: 50 }
model judge_a { provider: anthropic, name: "claude-judge", base_url: "http://127.0.0.1:$PORT", max_tokens: 50 }
prompt draft(id: string) -> string {
  model: writer
  user "Draft a reply for [{{ id }}]"
}
eval helpful_o(r: string) {
  score s = judge(judge_o, "Rate: {{ r }}")
  assert s >= 0.5 "judged helpful"
}
eval helpful_a(r: string) {
  score s = judge(judge_a, "Rate: {{ r }}")
  assert s >= 0.5 "judged helpful"
}
flow main(id: string) -> string {
  if id == "o-retry" or id == "o-high" {
    let r = draft(id) ensure helpful_o else retry
    yield r
  } else {
    let r = draft(id) ensure helpful_a else retry
    yield r
  }
}
FLOW
printf '"%s"\n' o-retry o-high a-retry a-high > in.jsonl
export OPENAI_API_KEY=sk-test ANTHROPIC_API_KEY=sk-test
# the position of each judge(...) call
at() { awk -v t="$1" 'index($0, t) { print "judge.flow:" NR ":" index($0, t); exit }' judge.flow; }
JO=$(at 'judge(judge_o')
JA=$(at 'judge(judge_a')

run "$FLOWC" run judge.flow --keep-going --concurrency 1 --input in.jsonl --output out.jsonl \
  --errors errors.jsonl --report report.json
expect_status 1 "the items with a bad judge reply fail"
curl -s --noproxy '*' "http://127.0.0.1:$PORT/requests" > requests.jsonl

"$PYTHON" - "$JO" "$JA" <<'PY' > check.txt 2>&1
import json, sys
jo, ja = sys.argv[1:3]
fails = []
def want(cond, what):
    if not cond: fails.append(what)
out = [json.loads(l) for l in open("out.jsonl")]
errors = [json.loads(l) for l in open("errors.jsonl")]
report = json.load(open("report.json"))
reqs = [json.loads(l) for l in open("requests.jsonl")]
SCHEMA = {"type": "object", "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1}}, "required": ["score"],
          "additionalProperties": False}
def texts(m):
    c = m["content"]
    return [c] if isinstance(c, str) else [p["text"] for p in c]

drafts = [r for r in reqs if r["body"]["model"] == "gpt-writer"]
judges_o = [r for r in reqs if r["body"]["model"] == "gpt-judge"]
judges_a = [r for r in reqs if r["body"]["model"] == "claude-judge"]
want(len(drafts) + len(judges_o) + len(judges_a) == len(reqs), "only the three bindings were called")
# openai: the schema in response_format, the rubric as the only message
want(sorted(texts(r["body"]["messages"][0])[0] for r in judges_o) == ["Rate: first-o", "Rate: high-o", "Rate: second-o"],
     "the openai judge rated each draft once: %s" % [r["body"]["messages"] for r in judges_o])
for r in judges_o:
    b = r["body"]
    want(r["path"] == "/v1/chat/completions", "openai judge path %s" % r["path"])
    want(b.get("response_format") == {"type": "json_schema",
                                      "json_schema": {"name": "output", "schema": SCHEMA, "strict": True}},
         "the openai judge's response_format: %s" % b.get("response_format"))
    want(len(b["messages"]) == 1 and b["messages"][0]["role"] == "user", "the openai judge's messages: %s" % b["messages"])
    want("tools" not in b, "no tools for an openai judge")
# anthropic: the schema as a forced tool's input_schema
want(sorted(texts(r["body"]["messages"][0])[0] for r in judges_a) == ["Rate: first-a", "Rate: high-a", "Rate: second-a"],
     "the anthropic judge rated each draft once: %s" % [r["body"]["messages"] for r in judges_a])
for r in judges_a:
    b = r["body"]
    want(r["path"] == "/v1/messages", "anthropic judge path %s" % r["path"])
    tools = b.get("tools", [])
    want(len(tools) == 1 and tools[0].get("name") == "output" and tools[0].get("input_schema") == SCHEMA,
         "the anthropic judge's tool: %s" % tools)
    want(b.get("tool_choice") == {"type": "tool", "name": "output"}, "the tool is forced: %s" % b.get("tool_choice"))
    want(len(b["messages"]) == 1 and b["messages"][0]["role"] == "user", "the anthropic judge's messages: %s" % b["messages"])
    want("response_format" not in b, "no response_format for an anthropic judge")
# the retry re-asked the judged prompt, with the failed assertion as feedback
FB = "Your previous answer was rejected: eval `helpful_%s` failed: judged helpful. Answer again, fixing this."
for p in "oa":
    asks = [texts(r["body"]["messages"][-1]) for r in drafts if ("[%s-retry]" % p) in texts(r["body"]["messages"][0])[0]]
    want(asks == [["Draft a reply for [%s-retry]" % p], ["Draft a reply for [%s-retry]" % p, FB % p]],
         "%s-retry: the draft is re-asked once with the feedback: %s" % (p, asks))
    n = sum(1 for r in drafts if ("[%s-high]" % p) in texts(r["body"]["messages"][0])[0])
    want(n == 1, "%s-high: a bad judge reply is not a reason to re-ask the draft (%d asks)" % (p, n))
# results, errors, report
want(out == ["second-o", "second-a"], "the re-asked drafts are the results: %s" % out)
want(errors == [{"item": 1, "error": "the judge's reply has no number \"score\" (at %s)" % jo},
                {"item": 3, "error": "the judge's reply has no number \"score\" (at %s)" % ja}], "the errors: %s" % errors)
outcomes = {it["item"]: it["outcomes"] for it in report["items"]}
for item, p in ((0, "o"), (2, "a")):
    got = [(o["eval"], o["passed"], o.get("failed"), o.get("scores")) for o in outcomes.get(item, [])]
    want(got == [("helpful_" + p, False, ["judged helpful"], {"s": 0.42}), ("helpful_" + p, True, None, {"s": 0.9})],
         "item %d's outcomes carry each attempt's score: %s" % (item, got))
want(sorted(outcomes) == [0, 2], "only the judged items have outcomes: %s" % sorted(outcomes))
for e in report["evals"]:
    s = e["scores"][0]
    want(e["runs"] == 2 and e["passed"] == 1 and (s["n"], s["min"], s["max"]) == (2, 0.42, 0.9),
         "eval %s totals: %s" % (e["eval"], e))
print("OK" if not fails else "\n".join(fails))
PY
if [ "$(cat check.txt)" = OK ]; then pass; else fails=$((fails + 1)); echo "FAIL: the judge over the wire"; cat check.txt; fi
finish
