# otlp.sh - the OTLP trace exporter's test (test_otlp) against a
# flow_mockserver started here, with script lines for the failing
# collectors test_otlp drives: /flaky/ (one 503), /down/ (always 503),
# /bad/ (400), /partial/ (a partial success) and /hang/ (no reply). The API
# key canary is in the environment so that test_otlp can check it never
# reaches an export.
# Usage: sh otlp.sh TEST_OTLP MOCKSERVER
TEST=${1:?usage: sh otlp.sh TEST_OTLP MOCKSERVER}
MOCK=${2:?usage: sh otlp.sh TEST_OTLP MOCKSERVER}
TMP=$(mktemp -d)
server=
trap 'kill $server 2>/dev/null; rm -rf "$TMP"' EXIT
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
cat > "$TMP/script.jsonl" <<'SCRIPT'
{"path":"/flaky/","times":1,"fault":"503"}
{"path":"/down/","fault":"503"}
{"path":"/bad/","status":400,"reply":"no such tenant"}
{"path":"/partial/","reply":{"partialSuccess":{"rejectedSpans":"2","errorMessage":"too old"}}}
{"path":"/hang/","fault":"hang"}
SCRIPT
"$MOCK" --port 0 --lifetime 120 --script "$TMP/script.jsonl" > "$TMP/server.out" 2> "$TMP/server.err" &
server=$!
i=0
while [ ! -s "$TMP/server.out" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(sed -n 's/^listening on 127\.0\.0\.1://p' "$TMP/server.out")
[ -n "$PORT" ] || { echo "the mock server did not start"; cat "$TMP/server.err"; exit 1; }
OPENAI_API_KEY=sk-canary-otlp-7d41c2e9 "$TEST" "$PORT"
