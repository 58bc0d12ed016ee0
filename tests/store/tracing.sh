# tracing.sh - --trace and --otlp over the network: each call's trace line
# says what happened to it (source, cached, attempts, tokens, cost, timing);
# the OTLP export reaches a loopback receiver (the mock server) as one run
# span, a span per item and a client span per call with the GenAI
# attributes, parents and ids consistent; a second run through the store
# shows its calls as cache hits in both; a canary key appears nowhere in
# the store, the trace, the cassette or the export; a dead collector is a
# warning that changes nothing else; a bad --otlp URL is a usage error.
# Usage: sh tracing.sh FLOWC MOCKSERVER
. "$(dirname "$0")/../net/lib.sh" "$1" "$2"
unset FLOW_STORE
cd "$TMP" || exit 2
CANARY=sk-canary-5f2b8e0c1d
export OPENAI_API_KEY=$CANARY
echo '{"match":"Summarize: item 2","times":1,"fault":"503"}' > script.jsonl
start_mock --lifetime 300 --script script.jsonl
cat > p.flow <<FLOW
model m {
  provider: openai, name: "gpt-test", base_url: "http://127.0.0.1:$PORT/v1", max_tokens: 30, temperature: 0.2
  price { input: 1.00 per 1M, output: 2.00 per 1M }
}
policy patient { retry: 2, backoff: constant(10ms) }
prompt a(t: string) -> string {
  model: m
  policy: patient
  user "Summarize: {{ t }}"
}
prompt b(t: string) -> string {
  model: m
  user "Translate: {{ t }}"
}
flow main(t: string) -> string { yield a(t) + " / " + b(t) }
FLOW
printf '"item %d"\n' 1 2 3 > in.jsonl

run "$FLOWC" run p.flow --input in.jsonl --store s.db --trace t1.jsonl --record rec.jsonl --otlp "http://127.0.0.1:$PORT"
expect_status 0 "a run exporting its spans"
cp "$TMP/out" out1.txt
run "$FLOWC" run p.flow --input in.jsonl --store s.db --trace t2.jsonl --otlp "http://127.0.0.1:$PORT/v1/traces"
expect_status 0 "the same run again"
curl -s --noproxy '*' "http://127.0.0.1:$PORT/requests" > requests.jsonl

"$PYTHON" - "$CANARY" > check.txt <<'PY'
import json, sys
canary = sys.argv[1]
bad = []
def want(ok, what):
    if not ok: bad.append(what)
t1 = [json.loads(l) for l in open("t1.jsonl")]
t2 = [json.loads(l) for l in open("t2.jsonl")]
calls1 = [e for e in t1 if e["event"] == "prompt"]
want(len(calls1) == 6, "6 calls in the first trace, found %d" % len(calls1))
keys = ["item", "seq", "event", "name", "binding", "key", "answered_by", "model", "source", "cached", "attempts",
        "input_tokens", "output_tokens", "cost_usd", "start_ms", "end_ms"]
want(all(list(e.keys()) == keys for e in calls1), "the fields of a call, in order: %s" % list(calls1[0].keys()))
want(all(e["source"] == "network" and not e["cached"] for e in calls1), "first run: every call from the network")
retried = [e for e in calls1 if e["item"] == 1 and e["name"] == "a"]
want(len(retried) == 1 and retried[0]["attempts"] == 2, "the 503 is retried: attempts 2, found %s" % retried)
want(all(e["attempts"] == 1 for e in calls1 if e not in retried), "other calls: one attempt")
want(all(e["input_tokens"] > 0 and e["output_tokens"] > 0 for e in calls1), "tokens counted")
c = calls1[0]
want(abs(c["cost_usd"] - (c["input_tokens"] * 1e-6 + c["output_tokens"] * 2e-6)) < 1e-12, "cost from the prices")
want(all(0 <= e["start_ms"] <= e["end_ms"] for e in calls1), "start before end")
want(retried[0]["end_ms"] - retried[0]["start_ms"] >= 5, "a retried call's time includes its backoff")
calls2 = [e for e in t2 if e["event"] == "prompt"]
want(all(e["source"] == "cache" and e["cached"] and e["attempts"] == 0 for e in calls2),
     "second run: every call a cache hit")

reqs = [json.loads(l) for l in open("requests.jsonl") if l.strip()]
exports = [r for r in reqs if r["path"].endswith("/v1/traces")]
want(len(exports) == 2, "one export per run (a small run is one batch), found %d" % len(exports))
runs = []
for r in exports:
    body = r["body"]
    rs = body["resourceSpans"][0]
    attrs = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
    want(attrs.get("service.name") == {"stringValue": "flow"}, "service.name")
    runs.append(rs["scopeSpans"][0]["spans"])
for n, spans in enumerate(runs):
    roots = [s for s in spans if s["name"] == "flow run p.flow"]
    items = [s for s in spans if s["name"] == "flow item"]
    chats = [s for s in spans if s["name"] == "chat gpt-test"]
    want(len(roots) == 1 and len(items) == 3 and len(chats) == 6, "run %d: 1 + 3 + 6 spans" % n)
    if not roots: continue
    root = roots[0]
    want("parentSpanId" not in root or not root["parentSpanId"], "the run span is the root")
    want(len({s["traceId"] for s in spans}) == 1 and len(root["traceId"]) == 32, "one trace id, 32 hex digits")
    want(all(len(s["spanId"]) == 16 for s in spans), "span ids of 16 hex digits")
    want(all(s["parentSpanId"] == root["spanId"] for s in items), "items are children of the run")
    ids = {s["spanId"] for s in items}
    want(all(s["parentSpanId"] in ids for s in chats), "calls are children of their item")
    want(all(s["kind"] == 3 for s in chats), "calls are client spans")
    want(all(int(s["startTimeUnixNano"]) <= int(s["endTimeUnixNano"]) for s in spans), "times are ordered")
    for s in chats:
        a = {x["key"]: x["value"] for x in s["attributes"]}
        want(a.get("gen_ai.operation.name") == {"stringValue": "chat"}, "gen_ai.operation.name")
        want(a.get("gen_ai.provider.name") == {"stringValue": "openai"}, "gen_ai.provider.name")
        want(a.get("gen_ai.request.model") == {"stringValue": "gpt-test"}, "gen_ai.request.model")
        want(a.get("gen_ai.request.max_tokens") == {"intValue": "30"}, "gen_ai.request.max_tokens")
        want(a.get("gen_ai.request.temperature") == {"doubleValue": 0.2}, "gen_ai.request.temperature")
        want("intValue" in a.get("gen_ai.usage.input_tokens", {}), "gen_ai.usage.input_tokens")
        want(a.get("flow.cache_hit") == {"boolValue": n == 1}, "flow.cache_hit in run %d" % n)
        want(a.get("flow.prompt", {}).get("stringValue") in ("a", "b"), "flow.prompt")
    want(any({x["key"]: x["value"] for x in s["attributes"]}.get("flow.attempts") == {"intValue": "2"} for s in chats)
         == (n == 0), "the retried call has flow.attempts 2 in the first run only")
    rattrs = {x["key"]: x["value"] for x in root["attributes"]}
    want(rattrs.get("flow.run.status") == {"stringValue": "ok"}, "the run's status: %s" % rattrs.get("flow.run.status"))
for r in exports:
    want(canary not in json.dumps(r), "no key in an export")
print("OK" if not bad else "\n".join(bad))
PY
if [ "$(cat check.txt)" = OK ]; then pass; else fail "the trace and the export"; cat check.txt; fi
if grep -q "$CANARY" s.db s.db-wal t1.jsonl t2.jsonl rec.jsonl 2>/dev/null; then fail "the key reached the store, a trace or the cassette"; else pass; fi

# a dead collector: a warning, and nothing else changes
run "$FLOWC" run p.flow --input in.jsonl --store s.db --otlp http://127.0.0.1:1
expect_status 0 "a run whose collector is down"
expect_contains err "warning: OTLP export to http://127.0.0.1:1/v1/traces: 10 of 10 spans not delivered" "the lost spans are counted"
if cmp -s out1.txt "$TMP/out"; then pass; else fail "the output does not depend on the collector"; fi
if grep -q "$CANARY" "$TMP/err"; then fail "the key is in a message"; else pass; fi
run "$FLOWC" run p.flow --input in.jsonl --store off --otlp ftp://collector
expect_status 2 "a collector URL that is not http(s)"
expect_contains err "--otlp:" "the flag is named"
finish
