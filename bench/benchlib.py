"""benchlib.py - what the benchmarks share: their common flags, writing a
program into their scratch folder, and the loopback mock of the OpenAI API
they measure against. It is the peers' C mock
(shared/bench/peers/mock/mock_openai.c, built into the benchmark's folder)
when it is there, so the figures compare with shared/bench/peers/results.md,
else the project's own flow_mockserver."""
import argparse
import os
import socket
import subprocess
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER_MOCK = os.path.join(ROOT, "..", "shared", "bench", "peers", "mock", "mock_openai.c")


def bench_args(runs, more=None):
    """The flags every benchmark takes (--flowc, --runs, --json, --strict),
    plus those `more(parser)` adds; args.flowc comes back absolute."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowc", default=os.environ.get("FLOWC", os.path.join(ROOT, "build", "flowc")))
    if more:
        more(ap)
    ap.add_argument("--runs", type=int, default=runs)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args()
    args.flowc = os.path.abspath(args.flowc)
    return args


def write_file(folder, name, text):
    """Write `text` to folder/name; returns the path."""
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mock(workdir, latency_ms=0, reply=None):
    """Start the mock on a free port; returns (process, port, kind)."""
    port = free_port()
    binary = os.path.join(workdir, "mock_openai")
    if os.path.exists(PEER_MOCK) and not os.path.exists(binary):
        subprocess.check_call(["cc", "-O2", "-pthread", "-o", binary, PEER_MOCK])
    if os.path.exists(binary):
        env = dict(os.environ, MOCK_PORT=str(port), MOCK_LATENCY_MS=str(latency_ms), MOCK_LIFETIME_S="600")
        if reply is not None:
            env["MOCK_REPLY"] = reply
        p = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kind = "peers' mock_openai.c"
    else:
        cmd = [os.path.join(ROOT, "build", "flow_mockserver"), "--port", str(port), "--latency-ms", str(latency_ms),
               "--record-max", "0", "--lifetime", "600"] + (["--reply", reply] if reply is not None else [])
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kind = "flow_mockserver"
    for _ in range(100):
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/stats" % port, timeout=5).read()
            return p, port, kind
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise SystemExit("the mock did not start")
