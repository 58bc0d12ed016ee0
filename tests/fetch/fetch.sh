# fetch.sh - fetch_get (runtime/fetch.c) against a local HTTPS server
# (server.py, 127.0.0.1 only, a test CA made here with openssl): a body from
# an allow-listed address; refusals before any connection (a host or port
# not on the allow-list, http://, a bad entry); redirects followed, counted
# and re-checked (https, allow-list, the address at connect time: localhost
# allow-listed by name is still loopback); the size cap (announced or not),
# the time limit of the whole fetch, non-2xx statuses, TLS verification, no
# proxy, and errors that never show a URL's query, fragment or password.
# Then the same rules through `http(url)` context sources of flowc run and
# flowc test: the source's allow: list, --allow-host, a redirect to
# localhost refused at connect time, tests offline unless --allow-network.
# Usage: sh fetch.sh PATH/TO/test_fetch PATH/TO/flowc
. "$(dirname "$0")/../cli/lib.sh" "$1"
FETCH=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")
FLOWC_BIN=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
server=
trap 'kill $server 2>/dev/null; rm -rf "$TMP"' EXIT
cd "$TMP" || exit 2
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy NO_PROXY no_proxy

# the test CA, a server certificate it signs (127.0.0.1 and localhost), and
# another CA that signs nothing here
EC="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $EC -keyout ca-key.pem -out ca.pem -days 2 -subj "/CN=flow fetch test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -x509 $EC -keyout other-key.pem -out other-ca.pem -days 2 -subj "/CN=another CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req $EC -keyout key.pem -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -out cert.pem \
  -extfile ext.cnf 2>/dev/null
[ -s cert.pem ] || { echo "openssl could not make the test certificates"; exit 2; }

"$PYTHON" "$HERE/server.py" cert.pem key.pem server.log 200 60 > server.out 2> server.err &
server=$!
i=0
while [ ! -s server.out ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
P=$(head -1 server.out)
[ -n "$P" ] || { echo "the HTTPS server did not start"; cat server.err; exit 1; }
B="https://127.0.0.1:$P"
OK_BODY="hello from the test server"

# connections the server has accepted so far
conns() { grep -c '^connect' server.log 2>/dev/null || true; }
# fetch ARGS...: the driver trusting the test CA and allowing the server
fetch() { run "$FETCH" --ca ca.pem --allow "127.0.0.1:$P" "$@"; }
# expect_refused_before_connecting WHAT: no connection since $before
expect_no_connection() {
  if [ "$(conns)" -eq "$before" ]; then pass; else fail "$1: the server saw a connection"; fi
}
# expect_absent out|err TEXT WHAT
expect_absent() {
  if grep -qF -- "$2" "$TMP/$1"; then fail "$3: std$1 contains '$2'"; else pass; fi
}

# 1. an allow-listed address: the body, exactly
fetch "$B/ok"
expect_status 0 "an allow-listed IP literal"
expect_equals out "$OK_BODY" "the body"
fetch "$B/empty"
expect_status 0 "a 204 reply"
expect_empty out "a 204 reply has an empty body"

# 2. no proxy: the proxy variables (pointing at a closed port) are ignored
run env https_proxy=http://127.0.0.1:1 HTTPS_PROXY=http://127.0.0.1:1 ALL_PROXY=http://127.0.0.1:1 \
  all_proxy=http://127.0.0.1:1 "$FETCH" --ca ca.pem --allow "127.0.0.1:$P" "$B/ok"
expect_status 0 "the proxy variables are ignored"
expect_equals out "$OK_BODY" "the body came straight from the server"

# 3. refused before any connection
before=$(conns)
run "$FETCH" --ca ca.pem --allow docs.example.com "$B/never-1"
expect_status 1 "a host not on the allow-list"
expect_equals err "error: $B/never-1: expected a host on the allow-list (docs.example.com), found 127.0.0.1:$P" \
  "the refusal names the allow-list and the host"
run "$FETCH" --ca ca.pem "$B/never-2"
expect_status 1 "an empty allow-list"
expect_contains err "expected a host on the allow-list (it is empty), found 127.0.0.1:$P" "an empty allow-list"
run "$FETCH" --ca ca.pem --allow 127.0.0.1 --allow 127.0.0.2:$P "$B/never-3"
expect_status 1 "the address allow-listed on another port (443), another address on this port"
expect_contains err "expected a host on the allow-list (127.0.0.1, 127.0.0.2:$P), found 127.0.0.1:$P" "port mismatch"
fetch "http://127.0.0.1:$P/never-4"
expect_status 1 "an http:// URL"
expect_equals err "error: http://127.0.0.1:$P/never-4: expected https, found http" "http:// is refused"
fetch "ftp://127.0.0.1:$P/never-5"
expect_status 1 "an ftp:// URL"
expect_contains err "expected https, found ftp" "ftp:// is refused"
fetch "127.0.0.1:$P/never-6"
expect_status 1 "a URL without a scheme"
expect_contains err "expected an absolute https:// URL" "a URL without a scheme"
run "$FETCH" --ca ca.pem --allow "127.0.0.1:$P" --allow "https://127.0.0.1:$P" "$B/never-7"
expect_status 1 "a bad allow-list entry"
expect_contains err "allow-list entry \`https://127.0.0.1:$P\`: expected a host without a scheme" "the bad entry is named"
run "$FETCH" --ca ca.pem --allow "localhost:$P" "https://localhost:$P/never-8"
expect_status 1 "localhost allow-listed by name"
expect_contains err "https://localhost:$P/never-8: refused to connect to " "the connection is refused"
expect_contains err "(localhost): a loopback address; allow-list the address itself to allow it" \
  "the refusal says why and what to do"
expect_no_connection "refusals before connecting"

# 4. redirects: every status followed, relative targets resolved
for s in 301 302 303 307 308; do
  fetch "$B/redirect?status=$s&to=/ok"
  expect_status 0 "a $s redirect"
  expect_equals out "$OK_BODY" "the body after a $s redirect"
done
fetch "$B/a/b/redirect?to=../ok"
expect_status 0 "a relative redirect"
if grep -q '^GET /a/ok$' server.log; then pass; else fail "../ok from /a/b/redirect should reach /a/ok"; fi
fetch "$B/redirect?to=//127.0.0.1:$P/dir/ok"
expect_status 0 "a scheme-relative redirect"
fetch "$B/chain/5"
expect_status 0 "five redirects (the default limit)"
expect_equals out "end of chain" "the chain's end"
fetch "$B/chain/6"
expect_status 1 "six redirects"
expect_equals err "error: $B/chain/1 (redirected from $B/chain/6): redirect to $B/chain/0: expected at most 5 redirects, found more" \
  "too many redirects"
fetch --max-redirects 2 "$B/chain/2"
expect_status 0 "two redirects, two allowed"
fetch --max-redirects 2 "$B/chain/3"
expect_status 1 "three redirects, two allowed"
fetch --max-redirects -1 "$B/redirect?to=/ok"
expect_status 1 "no redirects allowed"
expect_contains err "expected at most 0 redirects, found more" "no redirects allowed"
fetch "$B/noloc"
expect_status 1 "a redirect without a Location"
expect_contains err "expected a Location header with the HTTP 302 redirect, found none" "no Location"

# 5. redirect targets re-checked: allow-list, https, the address
before=$(conns)
fetch "$B/redirect?to=https://evil.example/x%3Ftoken%3Dsecret-r1"
expect_status 1 "a redirect to a host not on the allow-list"
expect_equals err "error: $B/redirect: redirect to https://evil.example/x: expected a host on the allow-list (127.0.0.1:$P), found evil.example" \
  "the redirect's target is named and refused"
expect_absent err "secret-r1" "the target's query"
fetch "$B/redirect?to=http://127.0.0.1:$P/ok"
expect_status 1 "a redirect to http://"
expect_equals err "error: $B/redirect: redirect to http://127.0.0.1:$P/ok: expected https, found http" \
  "a redirect to http:// is refused"
fetch "$B/redirect?to=https://127.0.0.1:$((P + 1))/ok"
expect_status 1 "a redirect to another port"
expect_contains err "found 127.0.0.1:$((P + 1))" "the other port"
fetch --allow "localhost:$P" "$B/redirect?to=https://localhost:$P/never-9"
expect_status 1 "a redirect to localhost, allow-listed by name"
expect_contains err "https://localhost:$P/never-9 (redirected from $B/redirect): refused to connect to " \
  "the refusal names the hop and where it came from"
expect_contains err "a loopback address" "localhost is loopback"
if [ "$(conns)" -eq $((before + 4)) ]; then pass; else
  fail "each redirect above should have made one connection (the first hop), $((before + 4)) in all, found $(conns)"; fi

# 6. the size cap, whether the length is announced or not
fetch --max-bytes 1000 "$B/big?n=1000"
expect_status 0 "a body of exactly the cap"
if [ "$(wc -c < "$TMP/out")" -eq 1000 ]; then pass; else fail "expected 1000 bytes"; fi
fetch --max-bytes 1000 "$B/big?n=1001"
expect_status 1 "a body one byte over the cap, length not announced"
expect_equals err "error: $B/big: the body is larger than 1000 bytes" "the cap is named"
fetch --max-bytes 1000 "$B/big?n=5000&length=1"
expect_status 1 "a body over the cap, length announced"
expect_contains err "the body is larger than 1000 bytes" "the cap is named"
fetch "$B/big?n=8388609"
expect_status 1 "a body over the default cap"
expect_contains err "the body is larger than 8388608 bytes" "the default cap is 8 MiB"
fetch "$B/big?n=8388608"
expect_status 0 "a body of exactly the default cap"

# 7. the time limit, for one hop and for the whole fetch
t0=$(date +%s%N)
fetch --timeout-ms 1000 "$B/hang"
t1=$(date +%s%N)
expect_status 1 "a server that never replies"
expect_equals err "error: $B/hang: no reply within 1000 ms" "the time limit is named"
ms=$(( (t1 - t0) / 1000000 ))
if [ "$ms" -ge 900 ] && [ "$ms" -lt 5000 ]; then pass; else fail "the fetch took $ms ms with a 1000 ms limit"; fi
fetch --timeout-ms 1000 "$B/slowchain/4"
expect_status 1 "four hops of 0.4 s each, 1 s for the whole fetch"
expect_contains err "no reply within 1000 ms" "the limit covers the redirects"
fetch --timeout-ms 3000 "$B/slowchain/2"
expect_status 0 "two hops of 0.4 s each, 3 s for the whole fetch"

# 8. statuses that are not 2xx
fetch "$B/missing"
expect_status 1 "a 404"
expect_equals err "error: $B/missing: expected a 2xx status, found HTTP 404" "the status is named"
fetch "$B/status?code=500"
expect_status 1 "a 500"
expect_contains err "expected a 2xx status, found HTTP 500" "the status is named"
fetch "$B/status?code=304"
expect_status 1 "a 304 (not a redirect to follow)"
expect_contains err "found HTTP 304" "the status is named"

# 9. TLS: an untrusted certificate is refused
run "$FETCH" --allow "127.0.0.1:$P" "$B/ok"
expect_status 1 "the system's CAs do not trust the test CA"
expect_contains err "expected a certificate trusted by the system's CAs, found: " "an untrusted certificate"
run "$FETCH" --ca other-ca.pem --allow "127.0.0.1:$P" "$B/ok"
expect_status 1 "a CA bundle that did not sign the server"
expect_contains err "expected a certificate trusted by other-ca.pem, found: " "the bundle is named"

# 10. errors never show the query, the fragment or a password
fetch "$B/missing?token=secret-q1#frag-secret-q2"
expect_status 1 "a 404 for a URL with a query"
expect_equals err "error: $B/missing: expected a 2xx status, found HTTP 404" "the query and fragment are cut"
run "$FETCH" --ca ca.pem --allow docs.example.com "https://user:secret-q3@evil.example/x?key=secret-q4"
expect_status 1 "a refused URL with a password and a query"
expect_equals err "error: https://evil.example/x: expected a host on the allow-list (docs.example.com), found evil.example" \
  "the password and query are cut"
fetch "http://127.0.0.1:$P/x?token=secret-q5"
expect_absent err "secret-q5" "an http:// URL's query"

# nothing that was refused before connecting ever reached the server
if grep -q '^GET /never' server.log; then fail "a refused request reached the server"; grep '^GET /never' server.log; else pass; fi
# 11. http(url) sources through flowc: the page is read when the source's
# allow: list (or --allow-host) names the address, refused otherwise
printf '1\n' > one.jsonl
cat > page.flow <<FLOW
context page: string = http("$B/ok", allow: ["127.0.0.1:$P"])
flow main(x: int) -> string { yield trim(page) }
test "the page is read" { assert main(1) == "hello from the test server" }
FLOW
FLOW_CA_BUNDLE=ca.pem run "$FLOWC_BIN" run page.flow --input one.jsonl
expect_status 0 "flowc run reads an allow-listed page"
expect_equals out '"hello from the test server"' "the page's text"
cat > unlisted.flow <<FLOW
context page: string = http("$B/ok")
flow main(x: int) -> string { yield page }
FLOW
run "$FLOWC_BIN" check unlisted.flow
expect_contains err "warning[W0507]: the host \`127.0.0.1\` of this URL is not on the source's allow-list" "flowc check warns"
before=$(conns)
FLOW_CA_BUNDLE=ca.pem run "$FLOWC_BIN" run unlisted.flow --input one.jsonl
expect_status 1 "a page whose host is allow-listed nowhere"
expect_contains err "context \`page\`: $B/ok: expected the body of a GET, found an error: " "the refusal names the context and URL"
expect_contains err "found 127.0.0.1" "the refusal names the host"
expect_no_connection "a page allow-listed nowhere"
FLOW_CA_BUNDLE=ca.pem run "$FLOWC_BIN" run unlisted.flow --input one.jsonl --allow-host "127.0.0.1:$P"
expect_status 0 "--allow-host allows it for one run"
run "$FLOWC_BIN" run unlisted.flow --input one.jsonl --allow-host "https://127.0.0.1/"
expect_status 2 "a malformed --allow-host"
cat > local.flow <<FLOW
context page: string = http("$B/redirect?to=https://localhost:$P/ok", allow: ["127.0.0.1:$P", "localhost:$P"])
flow main(x: int) -> string { yield page }
FLOW
FLOW_CA_BUNDLE=ca.pem run "$FLOWC_BIN" run local.flow --input one.jsonl
expect_status 1 "a redirect to localhost"
expect_contains err "loopback" "a redirect to a loopback address is refused at connect time"
# flowc test reads no page unless the network is allowed
FLOW_CA_BUNDLE=ca.pem run "$FLOWC_BIN" test page.flow
expect_status 1 "flowc test without --allow-network"
expect_contains out "found http sources off (flowc test reads them only with --allow-network)" "the test says why the page was not read"
FLOW_CA_BUNDLE=ca.pem run "$FLOWC_BIN" test --allow-network page.flow
expect_status 0 "flowc test --allow-network reads it"
finish
