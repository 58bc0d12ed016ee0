# faults.sh - flowc run against the project's mock model server, through
# each fault it can inject: every fault ends as the policy says (retried,
# fallen back, or a failed item), every input item is accounted for exactly
# once in the output or the errors file, and a planted API key appears
# nowhere but in the request's header.
# Usage: sh faults.sh FLOWC MOCKSERVER
. "$(dirname "$0")/lib.sh" "$@"
cd "$TMP" || exit 2

# the first request with a marker gets the fault; the retry succeeds
cat > script.jsonl <<'JSON'
{"match": "f429", "times": 1, "fault": "429", "retry_after": 0}
{"match": "fdate", "times": 1, "fault": "429", "retry_after_date": true}
{"match": "f500", "times": 1, "fault": "500"}
{"match": "f502", "times": 1, "fault": "502"}
{"match": "f503", "times": 1, "fault": "503"}
{"match": "fhang", "times": 1, "fault": "hang"}
{"match": "fdrip", "times": 1, "fault": "drip", "drip_ms": 200}
{"match": "freset", "times": 1, "fault": "reset_after_headers"}
{"match": "fempty", "times": 1, "fault": "empty"}
{"match": "ftrunc", "times": 1, "fault": "truncated"}
{"match": "fmalformed", "times": 1, "fault": "malformed_json"}
{"match": "foversize", "times": 1, "fault": "oversize", "oversize_bytes": 40000000}
{"match": "fprose", "fault": "prose", "reply": {"label": "ok", "score": 0.75}}
{"match": "ffenced", "fault": "fenced", "reply": {"label": "ok", "score": 0.5}}
{"match": "falways500", "fault": "500"}
{"match": "f400", "status": 400, "reply": "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad request\"}}"}
{"match": "f401", "status": 401, "reply": "{\"error\":{\"type\":\"authentication_error\",\"message\":\"no\"}}"}
JSON
start_mock --lifetime 120 --script script.jsonl

cat > faults.flow <<FLOW
model primary { provider: openai, name: "gpt-primary", base_url: "http://127.0.0.1:$PORT/v1", max_tokens: 50 }
model backup { provider: anthropic, name: "claude-backup", base_url: "http://127.0.0.1:$PORT", max_tokens: 50 }
policy careful { retry: 2, backoff: exponential(5ms, factor: 2, max: 50ms), timeout: 400ms, fallback: [backup] }
type Verdict { label: string, score: float }
prompt ask(t: string) -> Verdict {
  model: primary
  policy: careful
  user "Judge: {{ t }}"
}
type Out { id: string, label: string }
flow main(id: string) -> Out {
  let v = ask(id)
  yield Out { id: id, label: v.label }
}
FLOW
for m in plain f429 fdate f500 f502 f503 fhang fdrip freset fempty ftrunc fmalformed foversize fprose ffenced falways500 f400 f401; do
  printf '"%s"\n' "$m"
done > in.jsonl
CANARY=sk-canary-7f3e9c
OPENAI_API_KEY=$CANARY ANTHROPIC_API_KEY=$CANARY "$FLOWC" run faults.flow --keep-going --input in.jsonl \
  --output out.jsonl --errors errors.jsonl --trace trace.jsonl --record rec.jsonl >stdout.txt 2>stderr.txt
status=$?
if [ "$status" -eq 1 ]; then pass; else fails=$((fails + 1)); echo "FAIL: expected exit status 1 (some items fail), found $status"; cat stderr.txt; fi

# every item exactly once, in the output or the errors
total=$(wc -l < in.jsonl)
ok=$(wc -l < out.jsonl)
bad=$(wc -l < errors.jsonl)
if [ $((ok + bad)) -eq "$total" ]; then pass; else fails=$((fails + 1)); echo "FAIL: $ok results + $bad errors for $total items"; fi

expect_item_ok() {
  if grep -q "\"id\":\"$1\"" out.jsonl; then pass; else fails=$((fails + 1)); echo "FAIL: item $1 should have succeeded"; grep "$1" stderr.txt; fi
}
for m in plain f429 fdate f500 f502 f503 fhang fdrip freset fempty ftrunc fmalformed foversize fprose ffenced; do
  expect_item_ok "$m"
done
# 400 and 401 are not retried: one attempt on each binding, then the item fails
for m in f400 f401; do
  if grep -q "failed on binding \`backup\`" errors.jsonl && ! grep -q "\"id\":\"$m\"" out.jsonl; then pass; else
    fails=$((fails + 1)); echo "FAIL: $m should fail after its fallback"; fi
done
# always 500: retried on the primary, then on the fallback, then failed
if grep -q '"item":15' errors.jsonl && grep -q "failed on binding \`backup\`" errors.jsonl; then pass; else
  fails=$((fails + 1)); echo "FAIL: the always-500 item should fail on the fallback"; cat errors.jsonl; fi

# what the server received: retries and the fallback, with the key only in headers
curl -s "http://127.0.0.1:$PORT/requests" > requests.jsonl
n500=$(grep -c 'falways500' requests.jsonl)
if [ "$n500" -eq 6 ]; then pass; else fails=$((fails + 1)); echo "FAIL: expected 3 attempts on each binding for falways500, found $n500"; fi
for m in f400 f401; do
  k=$(grep -c "$m" requests.jsonl)
  if [ "$k" -eq 2 ]; then pass; else fails=$((fails + 1)); echo "FAIL: expected one attempt on each binding for $m, found $k"; fi
done
if grep -q '"messages"' requests.jsonl && grep -q '"response_format"' requests.jsonl && grep -q '"tool_choice"' requests.jsonl; then pass; else
  fails=$((fails + 1)); echo "FAIL: request bodies lack the documented fields"; fi
"$PYTHON" - "$CANARY" requests.jsonl <<'PY'
import json, sys
canary, path = sys.argv[1], sys.argv[2]
bad = 0
for line in open(path):
    r = json.loads(line)
    for name, value in r.get("headers", {}).items():
        if canary in str(value) and name not in ("authorization", "x-api-key"):
            bad += 1
    if canary in json.dumps(r.get("body")) or canary in r.get("path", ""):
        bad += 1
sys.exit(1 if bad else 0)
PY
if [ $? -eq 0 ]; then pass; else fails=$((fails + 1)); echo "FAIL: the key appears outside its header"; fi
if grep -q "authorization" requests.jsonl; then pass; else fails=$((fails + 1)); echo "FAIL: the key was not sent"; fi
if grep -rq "$CANARY" out.jsonl errors.jsonl trace.jsonl rec.jsonl stdout.txt stderr.txt faults.flow; then
  fails=$((fails + 1)); echo "FAIL: the key leaked into an output, trace, cassette or message"
else pass; fi

# a missing key fails before any request, naming the variable
before=$(curl -s "http://127.0.0.1:$PORT/stats" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
sed "s|127.0.0.1:$PORT|api.example.invalid|" faults.flow > nokey.flow
run env -u OPENAI_API_KEY -u ANTHROPIC_API_KEY "$FLOWC" run nokey.flow --input in.jsonl
expect_status 1 "missing key"
expect_contains err "OPENAI_API_KEY" "missing key names the variable"
finish
