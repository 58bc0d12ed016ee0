# server.py - the HTTPS server of tests/fetch/fetch.sh, on 127.0.0.1 only.
# Usage: python3 server.py CERT KEY LOG MAX_CONNECTIONS LIFETIME_SECONDS
# Prints its port, then serves at most MAX_CONNECTIONS connections (one
# request each) and exits after LIFETIME_SECONDS whatever happens. Every
# accepted TCP connection is logged as "connect" before the TLS handshake,
# every request as "GET PATH", so a test can tell that nothing reached it.
#   /ok, /dir/ok            200, a short body
#   /empty                  204
#   /redirect?to=T&status=S redirect (302 unless S) to T, as given
#   /noloc                  302 without a Location
#   /chain/N                302 to the relative chain/N-1; /chain/0 is 200
#   /slowchain/N            the same, each hop 0.4 s late
#   /big?n=N[&length=1]     N bytes, announced with Content-Length or not
#   /hang                   no reply until the lifetime ends
#   /status?code=C          status C; anything else is 404
import http.server, ssl, sys, threading, time, urllib.parse

cert, key, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
max_connections, lifetime = int(sys.argv[4]), float(sys.argv[5])
deadline = time.monotonic() + lifetime
log_lock = threading.Lock()


def log(line):
    with log_lock, open(log_path, "a") as f:
        f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def setup(self):
        self.request.do_handshake()
        super().setup()

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if body or status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        log("GET " + self.path)
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        path = url.path
        if path.endswith("/ok"):
            self.reply(200, b"hello from the test server\n")
        elif path == "/empty":
            self.reply(204)
        elif path.endswith("/redirect"):
            self.reply(int(q.get("status", "302")), headers=[("Location", q["to"])])
        elif path == "/noloc":
            self.reply(302)
        elif path.startswith("/chain/") or path.startswith("/slowchain/"):
            kind, n = path[1:].split("/")
            if kind == "slowchain":
                time.sleep(0.4)
            if int(n) == 0:
                self.reply(200, b"end of chain\n")
            else:
                self.reply(302, headers=[("Location", "%d" % (int(n) - 1))])
        elif path == "/big":
            self.big(int(q["n"]), q.get("length") == "1")
        elif path == "/hang":
            time.sleep(max(0.0, deadline - time.monotonic()))
        elif path == "/status":
            self.reply(int(q["code"]), b"status page\n")
        else:
            self.reply(404, b"not found\n")

    def big(self, n, announce):
        self.send_response(200)
        if announce:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        chunk = b"x" * 65536
        while n > 0:
            self.wfile.write(chunk[:n])
            n -= min(n, len(chunk))

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    accepted = 0

    def get_request(self):
        conn, addr = self.socket.accept()
        log("connect")
        self.accepted += 1
        conn.settimeout(max(1.0, deadline - time.monotonic()))
        return ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False), addr


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = Server(("127.0.0.1", 0), Handler)
srv.timeout = 0.2
print(srv.server_address[1], flush=True)
while srv.accepted < max_connections and time.monotonic() < deadline:
    srv.handle_request()
for t in threading.enumerate():  # let the last replies finish, within the lifetime
    if t is not threading.current_thread():
        t.join(max(0.0, deadline - time.monotonic()))
