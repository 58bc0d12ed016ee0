# transport.sh - the HTTP engine's transport settings: the proxy variables
# are honoured (the request reaches the proxy in absolute form), TLS
# verification is always on (a self-signed server is refused), and a custom
# CA bundle (FLOW_CA_BUNDLE) makes the same server trusted; an HTTP/2 server
# gets HTTP/2, with calls sharing one connection. The key never shows in an
# error.
# Usage: sh transport.sh FLOWC MOCKSERVER
. "$(dirname "$0")/lib.sh" "$@"
cd "$TMP" || exit 2
CANARY=sk-canary-transport-41d2
export OPENAI_API_KEY=$CANARY
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy NO_PROXY no_proxy FLOW_CA_BUNDLE

start_mock --lifetime 60 --max-requests 20

flow_at() {
  cat > t.flow <<FLOW
model m { provider: openai, name: "gpt-x", base_url: "$1", max_tokens: 20 }
policy once { retry: 0, timeout: 3s }
prompt hi(t: string) -> string {
  model: m
  policy: once
  user "Say hi to {{ t }}"
}
flow main(t: string) -> string { yield hi(t) }
FLOW
}
echo '"bob"' > in.jsonl

# 1. a proxy: the binding names a closed port; only the proxy can answer
flow_at "http://127.0.0.1:1/v1"
run env http_proxy="http://127.0.0.1:$PORT" "$FLOWC" run t.flow --input in.jsonl
expect_status 0 "a run through http_proxy"
expect_contains out "reply from the flow mock model server" "the reply came through the proxy"
curl -s --noproxy '*' "http://127.0.0.1:$PORT/requests" > requests.jsonl
if grep -q '"path":"http://127.0.0.1:1/v1/chat/completions"' requests.jsonl; then pass; else
  fail "the proxy did not get the absolute-form request"; cat requests.jsonl; fi

# 2. TLS: a self-signed server is refused, then trusted through FLOW_CA_BUNDLE
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other-key.pem -out other.pem -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
# a small HTTPS server that answers Chat Completions (POSTs up to a count)
cat > tls_server.py <<'PY'
import http.server, json, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps({"id": "x", "object": "chat.completion", "model": "gpt-x",
                           "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": "hello over TLS"}}],
                           "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.timeout = 30
print(srv.server_address[1], flush=True)
for _ in range(int(sys.argv[3])):
    srv.handle_request()
PY
"$PYTHON" tls_server.py cert.pem key.pem 6 > tls.out 2> tls.err &
extra_pids=$!
i=0
while [ ! -s tls.out ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
TLS_PORT=$(head -1 tls.out)
[ -n "$TLS_PORT" ] || { echo "the TLS server did not start"; cat tls.err; exit 1; }
flow_at "https://127.0.0.1:$TLS_PORT/v1"
run "$FLOWC" run t.flow --input in.jsonl
expect_status 1 "a self-signed server without a CA bundle"
expect_contains err "certificate" "the refusal names the certificate"
run env FLOW_CA_BUNDLE="$TMP/other.pem" "$FLOWC" run t.flow --input in.jsonl
expect_status 1 "a CA bundle that does not sign the server"
expect_contains err "certificate" "the refusal names the certificate"
run env FLOW_CA_BUNDLE="$TMP/cert.pem" "$FLOWC" run t.flow --input in.jsonl
expect_status 0 "a server signed by the CA bundle"
expect_contains out "hello over TLS" "the reply came over TLS"
if grep -rq "$CANARY" "$TMP"/out "$TMP"/err; then fail "the key appears in an error"; else pass; fi

# 3. HTTP/2: nghttpd speaks only h2 (ALPN over TLS) and serves the reply file
# for any method; three calls one after another share one connection
mkdir -p h2root/v1/chat
printf '%s' '{"id":"x","object":"chat.completion","model":"gpt-x","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"hello over h2"}}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}' \
  > h2root/v1/chat/completions
H2_PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nghttpd -v -a 127.0.0.1 -d h2root "$H2_PORT" key.pem cert.pem > h2.log 2>&1 &
extra_pids="$extra_pids $!"
i=0
until "$PYTHON" -c "import socket; socket.create_connection(('127.0.0.1',$H2_PORT),1)" 2>/dev/null || [ $i -ge 50 ]; do
  sleep 0.1; i=$((i + 1))
done
flow_at "https://127.0.0.1:$H2_PORT/v1"
printf '"a"\n"b"\n"c"\n' > three.jsonl
run env FLOW_CA_BUNDLE="$TMP/cert.pem" "$FLOWC" run t.flow --input three.jsonl --concurrency 1
expect_status 0 "three calls to an HTTP/2 server"
if [ "$(grep -c 'hello over h2' "$TMP/out")" -eq 3 ]; then pass; else fail "expected three replies over HTTP/2"; fi
if [ "$(grep -c ':method: POST' h2.log)" -eq 3 ]; then pass; else fail "the HTTP/2 server did not see three POSTs"; cat h2.log; fi
if [ "$(grep ':method: POST' h2.log | grep -o '^\[id=[0-9]*\]' | sort -u | wc -l)" -eq 1 ]; then pass; else
  fail "the calls did not share one HTTP/2 connection"; fi
finish
