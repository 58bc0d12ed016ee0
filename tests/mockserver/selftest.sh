#!/bin/bash
# selftest.sh - drives flow_mockserver with curl (and flow_mockbench for the
# 256-connection check): each API's reply shape, scripted replies, every
# fault as curl observes it, recording, /stats, latency, and the ways the
# server exits. Prints "N passed, M failed"; always stops its servers.
#
#   selftest.sh PATH/TO/flow_mockserver PATH/TO/flow_mockbench
MS=${1:?usage: selftest.sh flow_mockserver flow_mockbench}
MB=${2:?usage: selftest.sh flow_mockserver flow_mockbench}
TMP=$(mktemp -d)
PIDS=""
pass=0
fail=0
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
# check NAME COMMAND...: one test, passed when the command succeeds.
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
# has TEXT PART: whether TEXT contains PART.
has() { case "$1" in *"$2"*) return 0 ;; *) return 1 ;; esac; }
hasnt() { ! has "$1" "$2"; }
# ge A B: A >= B for decimals.
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

# start_server ARGS...: start a server on port 0; sets SPID and SPORT.
nserv=0
start_server() {
    nserv=$((nserv + 1))
    local out=$TMP/server$nserv.out
    "$MS" --port 0 "$@" >"$out" 2>"$TMP/server$nserv.err" &
    SPID=$!
    PIDS="$PIDS $SPID"
    for _ in $(seq 1 200); do grep -q '^listening on' "$out" 2>/dev/null && break; sleep 0.05; done
    SPORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$out")
    [ -n "$SPORT" ] || { echo "server did not start: $(cat "$TMP/server$nserv.err")"; }
}

# post PATH BODY [CURL-ARGS...]: POST JSON to the current server.
post() {
    local path=$1 body=$2
    shift 2
    curl -s --max-time 10 -H 'Content-Type: application/json' -d "$body" "$@" "http://127.0.0.1:$SPORT$path"
}
OA=/v1/chat/completions
AN=/v1/messages
OL=/api/chat
msg() { printf '{"model":"m-1","messages":[{"role":"user","content":"%s"}]}' "$1"; }

cat >"$TMP/script.jsonl" <<'EOF'
# the selftest's script: one line per case
{"match":"scripted-hello","reply":"Hi from the script"}
{"match":"twice","times":2,"reply":"only twice"}
{"match":"json-reply","reply":{"name":"Ada","age":36}}
{"match":"nth-case","times":2,"reply":"fine"}
{"match":"nth-case","times":1,"fault":"500"}
{"match":"rate-seconds","fault":"429","retry_after":7}
{"match":"rate-date","fault":"429","retry_after_date":true,"retry_after":30}
{"match":"fault-500","fault":"500"}
{"match":"fault-502","fault":"502"}
{"match":"fault-503","fault":"503"}
{"match":"fault-hang","fault":"hang"}
{"match":"fault-drip-slow","fault":"drip","drip_ms":200}
{"match":"fault-drip-fast","fault":"drip","drip_ms":1,"reply":"ok"}
{"match":"fault-reset","fault":"reset_after_headers"}
{"match":"fault-empty","fault":"empty"}
{"match":"fault-truncated","fault":"truncated"}
{"match":"fault-malformed","fault":"malformed_json"}
{"match":"fault-prose","fault":"prose","reply":{"x":1}}
{"match":"fault-fenced","fault":"fenced","reply":{"x":1}}
{"match":"fault-oversize-chunked","fault":"oversize_chunked","oversize_bytes":5000000}
{"match":"fault-oversize","fault":"oversize"}
{"match":"fault-close","fault":"close"}
{"match":"slow-one","delay_ms":300,"reply":"slow"}
{"match":"status-400","status":400,"reply":"bad thing"}
{"path":"/api/chat","match":"path-only","reply":"ollama only"}
EOF

start_server --script "$TMP/script.jsonl" --lifetime 120
MAIN_PID=$SPID
MAIN_PORT=$SPORT
check "server prints its port" test -n "$SPORT"

# --- the three APIs --------------------------------------------------------
r=$(post $OA "$(msg hello)")
check "openai: chat.completion shape" \
    has "$r" '"object":"chat.completion"'
check "openai: message, finish_reason, usage" \
    eval 'has "$r" "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"This is a reply" && has "$r" "\"finish_reason\":\"stop\"" && has "$r" "\"total_tokens\":" && has "$r" "\"model\":\"m-1\""'
r=$(post $OA '{"model":"m","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":{"type":"object","properties":{"label":{"enum":["spam","ham"]},"score":{"type":"number"},"n":{"type":"integer"},"ok":{"type":"boolean"},"tags":{"type":"array","items":{"type":"string"}},"opt":{"type":["string","null"]}},"required":["label","score","n","ok","tags","opt"],"additionalProperties":false}}}}')
check "openai: json_schema gives a minimal instance" \
    has "$r" '"content":"{\"label\":\"spam\",\"score\":0.5,\"n\":1,\"ok\":true,\"tags\":[\"mock\"],\"opt\":\"mock\"}"'
r=$(post $AN "$(msg hello)")
check "anthropic: message shape with a text block" \
    eval 'has "$r" "\"type\":\"message\",\"role\":\"assistant\"" && has "$r" "\"content\":[{\"type\":\"text\",\"text\":\"This is a reply" && has "$r" "\"stop_reason\":\"end_turn\"" && has "$r" "\"usage\":{\"input_tokens\":"'
TOOLS='"tools":[{"name":"other","input_schema":{"type":"object"}},{"name":"record","input_schema":{"type":"object","properties":{"who":{"type":"string"},"kids":{"type":"array","items":{"$ref":"#/$defs/kid"}}},"required":["who","kids"],"$defs":{"kid":{"type":"object","properties":{"age":{"type":"integer","minimum":3}},"required":["age"]}}}}],"tool_choice":{"type":"tool","name":"record"}'
r=$(post $AN "{\"model\":\"c\",\"messages\":[],$TOOLS}")
check "anthropic: forced tool gives tool_use with a schema instance" \
    eval 'has "$r" "\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_mock_" && has "$r" "\"name\":\"record\",\"input\":{\"who\":\"mock\",\"kids\":[{\"age\":3}]}" && has "$r" "\"stop_reason\":\"tool_use\""'
r=$(post $AN "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":\"json-reply\"}],$TOOLS}")
check "anthropic: scripted JSON reply is the tool input" \
    has "$r" '"name":"record","input":{"name":"Ada","age":36}'
r=$(post $AN '{"model":"c","messages":[],"tools":[{"name":"t","input_schema":{"type":"object"}}],"tool_choice":{"type":"auto"}}')
check "anthropic: tool_choice auto is not forced" has "$r" '"type":"text"'
r=$(post $OL "$(msg hello)")
check "ollama: /api/chat shape" \
    eval 'has "$r" "\"model\":\"m-1\",\"created_at\":\"" && has "$r" "\"message\":{\"role\":\"assistant\",\"content\":\"This is" && has "$r" "\"done\":true" && has "$r" "\"prompt_eval_count\":" && has "$r" "\"eval_count\":"'
r=$(post $OL '{"model":"l","messages":[],"format":{"type":"object","properties":{"a":{"type":"string","format":"date"}},"required":["a"]}}')
check "ollama: format schema gives an instance" has "$r" '"content":"{\"a\":\"2024-01-01\"}"'
r=$(post /openai/v1/chat/completions "$(msg hello)")
check "a base_url prefix is accepted" has "$r" '"chat.completion"'
code=$(post /v1/nothing "$(msg x)" -o /dev/null -w '%{http_code}')
check "unknown path: 404" test "$code" = 404
code=$(post $OA 'not json' -o /dev/null -w '%{http_code}')
check "a body that is not JSON: 400" test "$code" = 400
big=$(head -c 3000 /dev/zero | tr '\0' 'a')
r=$(post $OA "$(msg "$big")" -H 'Expect: 100-continue')
check "Expect: 100-continue" has "$r" '"chat.completion"'

# --- scripted replies ------------------------------------------------------
r=$(post $OA "$(msg 'say scripted-hello now')")
check "script: match picks the reply" has "$r" '"content":"Hi from the script"'
r1=$(post $OA "$(msg twice)"); r2=$(post $AN "$(msg twice)"); r3=$(post $OA "$(msg twice)")
check "script: times limits the uses" \
    eval 'has "$r1" "only twice" && has "$r2" "\"text\":\"only twice\"" && hasnt "$r3" "only twice"'
r=$(post $OA "$(msg json-reply)")
check "script: a JSON reply is serialized as the text" has "$r" '"content":"{\"name\":\"Ada\",\"age\":36}"'
c1=$(post $OA "$(msg nth-case)" -o /dev/null -w '%{http_code}')
c2=$(post $OA "$(msg nth-case)" -o /dev/null -w '%{http_code}')
c3=$(post $OA "$(msg nth-case)" -o /dev/null -w '%{http_code}')
c4=$(post $OA "$(msg nth-case)" -o /dev/null -w '%{http_code}')
check "script: exactly the 3rd request fails" test "$c1 $c2 $c3 $c4" = "200 200 500 200"
r=$(post $OA "$(msg path-only)")
r2=$(post $OL "$(msg path-only)")
check "script: path restricts an entry" eval 'hasnt "$r" "ollama only" && has "$r2" "\"content\":\"ollama only\""'
r=$(post $AN "$(msg status-400)" -w ' %{http_code}')
check "script: status with an error body in the API's format" \
    has "$r" '{"type":"error","error":{"type":"invalid_request_error","message":"bad thing"}} 400'

# --- faults ----------------------------------------------------------------
h=$(post $OA "$(msg rate-seconds)" -D - -o /dev/null)
check "429 with Retry-After in seconds" eval 'has "$h" "HTTP/1.1 429" && has "$h" "Retry-After: 7"'
h=$(post $OA "$(msg rate-date)" -D - -o "$TMP/body")
check "429 with Retry-After as an HTTP-date" \
    eval 'echo "$h" | grep -Eq "^Retry-After: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT"'
check "429 body is an OpenAI error" grep -q '"code":"rate_limit_exceeded"' "$TMP/body"
r=$(post $AN "$(msg rate-seconds)")
check "429 body is an Anthropic error on /v1/messages" has "$r" '"type":"rate_limit_error"'
for f in 500 502 503; do
    code=$(post $OA "$(msg fault-$f)" -o /dev/null -w '%{http_code}')
    check "fault $f" test "$code" = $f
done
r=$(post $OL "$(msg fault-503)")
check "5xx body is an Ollama error on /api/chat" has "$r" '{"error":"mock: fault 503"}'
t0=$(date +%s.%N)
post $OA "$(msg fault-hang)" --max-time 1 >/dev/null; rc=$?
t1=$(date +%s.%N)
check "hang: curl times out (28)" test $rc = 28
check "hang: after the full --max-time" ge "$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')" 0.9
post $OA "$(msg fault-drip-slow)" --max-time 1 >/dev/null; rc=$?
check "drip: a slow reply makes curl time out (28)" test $rc = 28
exec 3<>/dev/tcp/127.0.0.1/$SPORT
b=$(msg fault-drip-slow)
printf 'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s' $OA ${#b} "$b" >&3
timeout 1 cat <&3 >"$TMP/drip"
exec 3<&-
n=$(wc -c <"$TMP/drip")
check "drip: one byte per drip_ms (got $n bytes in 1 s at 200 ms)" eval '[ "$n" -ge 2 ] && [ "$n" -le 7 ]'
r=$(post $OA "$(msg fault-drip-fast)" -w ' %{time_total}')
check "drip: a fast drip completes" eval 'has "$r" "\"content\":\"ok\"" && ge "${r##* }" 0.2'
post $OA "$(msg fault-reset)" -D "$TMP/reset.h" -o /dev/null; rc=$?
check "reset_after_headers: curl sees a reset (56)" test $rc = 56
check "reset_after_headers: the headers arrived first" grep -q '^HTTP/1.1 200' "$TMP/reset.h"
r=$(post $OA "$(msg fault-empty)" -w '%{http_code} %{size_download}')
check "empty: 200 with no body" test "$r" = "200 0"
post $OA "$(msg fault-truncated)" -o /dev/null; rc=$?
check "truncated: curl sees a partial body (18)" test $rc = 18
r=$(post $OA "$(msg fault-malformed)")
check "malformed_json" test "$r" = '{"choices": ['
r=$(post $OA "$(msg fault-prose)")
check "prose: JSON wrapped in a sentence" has "$r" '"content":"Sure! Here is the answer you asked for:\n{\"x\":1}\nLet me know'
r=$(post $AN "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":\"fault-fenced\"}],$TOOLS}")
check "fenced: inside a text block even for a forced tool" has "$r" '"type":"text","text":"```json\n{\"x\":1}\n```"'
hwm0=$(awk '/VmHWM/ {print $2}' /proc/$MAIN_PID/status)
r=$(post $OA "$(msg fault-oversize)" -D "$TMP/over.h" -o /dev/null -w '%{http_code} %{size_download}')
hwm1=$(awk '/VmHWM/ {print $2}' /proc/$MAIN_PID/status)
check "oversize: 64 MiB with Content-Length" \
    eval 'test "$r" = "200 67108864" && grep -qi "^Content-Length: 67108864" "$TMP/over.h"'
check "oversize: streamed, peak memory grew by $((hwm1 - hwm0)) KiB" test $((hwm1 - hwm0)) -lt 16384
post $OA "$(msg fault-oversize)" -o /dev/null --max-filesize 1000000; rc=$?
check "oversize: curl --max-filesize refuses it (63)" test $rc = 63
r=$(post $OA "$(msg fault-oversize-chunked)" -D "$TMP/chunk.h" -o "$TMP/chunk.b" -w '%{size_download}')
check "oversize_chunked: 5000000 bytes, chunked, no length" \
    eval 'test "$(wc -c <"$TMP/chunk.b")" = 5000000 && grep -qi "^Transfer-Encoding: chunked" "$TMP/chunk.h" && ! grep -qi "^Content-Length" "$TMP/chunk.h"'
check "oversize_chunked: the body looks like a reply" eval 'head -c 30 "$TMP/chunk.b" | grep -q "^{\"id\":\"mock-oversize\"" && tail -c 12 "$TMP/chunk.b" | grep -q "\"stop\"}]}$"'
post $OA "$(msg fault-close)" -o /dev/null; rc=$?
check "close: curl sees an empty reply (52)" test $rc = 52

# --- latency, pipelining ---------------------------------------------------
r=$(post $OA "$(msg slow-one)" -o /dev/null -w '%{time_total}')
check "delay_ms delays the reply ($r s)" ge "$r" 0.3
exec 3<>/dev/tcp/127.0.0.1/$SPORT
b1=$(msg pipe-1); b2=$(msg slow-one)
printf 'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%sPOST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    $OA ${#b1} "$b1" $AN ${#b2} "$b2" >&3
r=$(timeout 5 cat <&3)
exec 3<&-
check "pipelining: two replies in order on one connection" \
    eval 'test "$(echo "$r" | grep -o "HTTP/1.1 200" | wc -l)" = 2 && has "$r" "chat.completion" && has "${r#*chat.completion}" "\"text\":\"slow\"" && has "$r" "Connection: close"'

# --- recording and stats ---------------------------------------------------
post $OA '{"model":"m","messages":[{"role":"user","content":"canary-test"}]}' \
    -H 'Authorization: Bearer sk-canary-0123' -H 'X-Api-Key: sk-ant-canary' >/dev/null
reqs=$(curl -s "http://127.0.0.1:$SPORT/requests")
last=$(echo "$reqs" | tail -n 1)
check "requests: JSON Lines, one per model request" \
    eval 'echo "$reqs" | head -n 1 | grep -q "^{\"n\":1,\"method\":\"POST\",\"path\":\"/v1/chat/completions\",\"headers\":{"'
check "requests: lowercased headers" \
    eval 'has "$last" "\"authorization\":\"Bearer sk-canary-0123\"" && has "$last" "\"x-api-key\":\"sk-ant-canary\""'
check "requests: body as parsed JSON" has "$last" '"body":{"model":"m","messages":[{"role":"user","content":"canary-test"}]}'
n=$(echo "$last" | sed 's/^{"n":\([0-9]*\),.*/\1/')
since=$(curl -s "http://127.0.0.1:$SPORT/requests?since=$((n - 1))")
check "requests?since=N" test "$since" = "$last"
r=$(post $OA 'raw text body' >/dev/null; curl -s "http://127.0.0.1:$SPORT/requests?since=$n")
check "requests: a body that is not JSON is a string" has "$r" '"body":"raw text body"'
stats=$(curl -s "http://127.0.0.1:$SPORT/stats")
check "stats: counters" \
    eval 'has "$stats" "\"endpoints\":{\"openai\":" && has "$stats" "\"ollama\":4," && has "$stats" "\"connections_accepted\":" && has "$stats" "\"max_concurrent_connections\":" && has "$stats" "\"max_in_service\":"'
check "stats: per-entry hits" has "$stats" '{"index":1,"hits":2,"times_left":0}'
check "stats: faults" has "$stats" '"hang":1'
r=$(curl -s --data-binary '{"reply":"replaced"}' "http://127.0.0.1:$SPORT/script")
r2=$(post $OA "$(msg scripted-hello)")
check "POST /script replaces the script" eval 'test "$r" = "{\"script\":1}" && has "$r2" "\"content\":\"replaced\""'
r=$(curl -s --data-binary '{"fault":"nope"}' -w ' %{http_code}' "http://127.0.0.1:$SPORT/script")
check "POST /script rejects a bad line" has "$r" 'script:1: unknown \"fault\""} 400'
curl -s -X POST "http://127.0.0.1:$SPORT/reset" >/dev/null
r=$(curl -s "http://127.0.0.1:$SPORT/requests")
stats=$(curl -s "http://127.0.0.1:$SPORT/stats")
check "POST /reset clears the record and counters" eval 'test -z "$r" && has "$stats" "\"recorded\":0"'

# --- the OTLP trace receiver ------------------------------------------------
printf '%s\n' '{"reply":"for model requests only"}' '{"path":"/v1/traces","times":1,"fault":"503"}' \
    '{"path":"/partial/v1/traces","reply":{"partialSuccess":{"rejectedSpans":"1"}}}' >"$TMP/otlp.jsonl"
start_server --script "$TMP/otlp.jsonl" --lifetime 60 --latency-ms 500
spans='{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"s"}]}]}]}'
r1=$(post /v1/traces "$spans" -w ' %{http_code}')
r2=$(post /v1/traces "$spans" -w ' %{http_code} %{time_total}')
r3=$(post /gateway/v1/traces "$spans" -w ' %{http_code}')
r4=$(post /v1/traces 'not json' -w ' %{http_code}')
r5=$(post /partial/v1/traces "$spans" -w ' %{http_code}')
check "otlp: a scripted 503 is a google.rpc.Status" test "$r1" = '{"code":14,"message":"mock: fault 503"} 503'
check "otlp: 200 {} at once, untouched by lines without a path and by --latency-ms ($r2)" \
    eval 'has "$r2" "{} 200 " && ! ge "${r2##* }" 0.4'
check "otlp: any path ending in /v1/traces" test "$r3" = '{} 200'
check "otlp: a body that is not JSON is a 400" has "$r4" '"code":3,'
check "otlp: a scripted reply is the 200 body" test "$r5" = '{"partialSuccess":{"rejectedSpans":"1"}} 200'
reqs=$(curl -s "http://127.0.0.1:$SPORT/requests")
stats=$(curl -s "http://127.0.0.1:$SPORT/stats")
check "otlp: exports are recorded with their body" \
    eval 'has "$reqs" "\"path\":\"/gateway/v1/traces\"" && has "$reqs" "\"body\":$spans"'
check "otlp: counted in stats" has "$stats" '"otlp":5,'
kill "$SPID"; wait "$SPID"
start_server --max-requests 1 --lifetime 30
post /v1/traces "$spans" >/dev/null
sleep 0.5
check "otlp: --max-requests counts exports" eval '! kill -0 $SPID 2>/dev/null'
wait "$SPID"

# --- 256 connections -------------------------------------------------------
start_server --latency-ms 100 --lifetime 60
r=$("$MB" --port "$SPORT" --connections 256 --requests 1024 --timeout 30)
stats=$(curl -s "http://127.0.0.1:$SPORT/stats")
check "256 connections at latency 100 ms: $r" eval 'has "$r" "requests 1024 " && has "$r" " errors 0"'
check "stats: 256 concurrent connections and requests in service" \
    eval 'has "$stats" "\"max_concurrent_connections\":256," && has "$stats" "\"max_in_service\":256}"'
r=$(curl -s -o /dev/null -w '%{time_total}' -d "$(msg x)" "http://127.0.0.1:$SPORT$OA")
check "--latency-ms delays each reply ($r s)" ge "$r" 0.1
kill "$SPID"; wait "$SPID"
check "SIGTERM: exits cleanly" test $? = 0

# --- exits by itself -------------------------------------------------------
start_server --lifetime 1
sleep 1.6
check "--lifetime: exits by itself" eval '! kill -0 $SPID 2>/dev/null'
wait "$SPID"
check "--lifetime: exit status 0" test $? = 0
start_server --max-requests 2 --lifetime 30
post $OA "$(msg a)" >/dev/null
r=$(post $OA "$(msg b)")
sleep 0.5
check "--max-requests: answers, then exits" eval 'has "$r" "chat.completion" && ! kill -0 $SPID 2>/dev/null'
wait "$SPID"
echo '{"fault":"boom"}' >"$TMP/bad.jsonl"
"$MS" --script "$TMP/bad.jsonl" >/dev/null 2>"$TMP/bad.err"; rc=$?
check "a bad script line is reported with its number" eval 'test $rc = 2 && grep -q "bad.jsonl:1: unknown \"fault\"" "$TMP/bad.err"'
"$MS" --port "$MAIN_PORT" >/dev/null 2>&1 </dev/null & p=$!
PIDS="$PIDS $p"
sleep 0.3
check "an unusable port fails" eval '! kill -0 $p 2>/dev/null'

# --- the main server ends on SIGTERM ---------------------------------------
kill "$MAIN_PID"; wait "$MAIN_PID"; rc=$?
check "main server: clean exit on SIGTERM" test $rc = 0
grep -q 'ERROR: \(Address\|Leak\|Undefined\)Sanitizer\|runtime error' "$TMP"/server*.err && bad "sanitizer reports" || ok "no sanitizer reports"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
