#!/usr/bin/env python3
"""net_bench.py - the model layer's benchmark (issue 4): N model calls at
concurrency C through a real .flow program (a prompt with a typed output:
rendering, JSON building, HTTP, parsing and validation all count) against a
loopback mock of the OpenAI API, at latency 0 and 50 ms; and wrk against the
same mock in the same run, for the server's own ceiling, with the peers' bare
C libcurl multi loop (shared/bench/peers/c/curl_multi_fanout.c) at latency 0,
so the ratio to plain libcurl comes from one run on one machine.

The mock is the peers' C mock (shared/bench/peers/mock/mock_openai.c, built
here) when it is available, so the figures compare with
shared/bench/peers/results.md; otherwise the project's own mock server.

Prints req/s, CPU us per call, peak RSS per call in flight (the growth of
the peak over a run with one call in flight, divided by the extra calls),
and the TCP connections the mock accepted. Usage: net_bench.py [--flowc PATH] [--calls N]
[--concurrency C] [--runs R] [--json] [--strict]
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from benchlib import bench_args, start_mock

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WRK_LUA = os.path.join(ROOT, "..", "shared", "bench", "peers", "wrk", "chat_post.lua")
PEER_CURL = os.path.join(ROOT, "..", "shared", "bench", "peers", "c", "curl_multi_fanout.c")

FLOW = """model m {
  provider: openai, name: "mock-model", base_url: "http://127.0.0.1:%d/v1", max_tokens: 50
  limits { concurrency: %d }
}
enum Label { positive, negative, neutral }
type Verdict { label: Label, confidence: float }
type Item { id: int, text: string }
type Out { id: int, label: Label }
prompt classify(t: string) -> Verdict {
  model: m
  system "You classify the sentiment of product reviews."
  user "Review: {{ t }}"
}
flow main(item: Item) -> Out {
  let v = classify(item.text)
  yield Out { id: item.id, label: v.label }
}
"""

REPLY = '{"label":"positive","confidence":0.9}'


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def run_flow(flowc, flow, inp, conc):
    """Wall seconds, CPU seconds, peak RSS KB of one flowc run."""
    gnu_time = "/usr/bin/time"
    cmd = ([gnu_time, "-f", "FLOW_MAXRSS_KB=%M"] if os.path.exists(gnu_time) else []) + \
          [flowc, "run", flow, "--concurrency", str(conc), "--store", "off"] + (["--input", inp] if inp else [])
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("net_bench: flowc run failed: " + err[-800:])
    m = re.search(r"FLOW_MAXRSS_KB=(\d+)", err)
    return wall, usage.ru_utime + usage.ru_stime, int(m.group(1)) if m else usage.ru_maxrss


def run_wrk(port, conc, seconds=5):
    if not shutil.which("wrk") or not os.path.exists(WRK_LUA):
        return None
    out = subprocess.run(["wrk", "-t2", "-c%d" % conc, "-d%ds" % seconds, "-s", WRK_LUA,
                          "http://127.0.0.1:%d" % port], capture_output=True, text=True).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else None


def run_bare_curl(workdir, port, n, conc):
    """The peers' bare C libcurl multi loop on the same mock: (req/s, CPU us per call), or None."""
    binary = os.path.join(workdir, "curl_multi_fanout")
    if not os.path.exists(binary):
        if not os.path.exists(PEER_CURL) or subprocess.call(
                ["cc", "-O2", "-o", binary, PEER_CURL, "-lcurl"], stderr=subprocess.DEVNULL) != 0:
            return None
    out = subprocess.run([binary, "http://127.0.0.1:%d/v1/chat/completions" % port, str(n), str(conc)],
                         capture_output=True, text=True).stdout
    m = re.search(r"RESULT (\{.*\})", out)
    if not m:
        return None
    r = json.loads(m.group(1))
    return r["rps"], (r["cpu_user_s"] + r["cpu_sys_s"]) / n * 1e6


def main():
    def more(a):
        a.add_argument("--calls", type=int, default=20000)
        a.add_argument("--concurrency", type=int, default=256)
    args = bench_args(3, more)
    flowc = args.flowc
    n, c = args.calls, args.concurrency
    results = {}
    with tempfile.TemporaryDirectory() as d:
        inp = os.path.join(d, "in.jsonl")
        with open(inp, "w") as f:
            for i in range(n):
                f.write('{"id":%d,"text":"review number %d: works as described"}\n' % (i, i))
        for latency in (0, 50):
            mock, port, kind = start_mock(d, latency, REPLY)
            try:
                flow = os.path.join(d, "bench_%d.flow" % latency)
                with open(flow, "w") as f:
                    f.write(FLOW % (port, c))
                # the same program with one call in flight: the RSS that does not
                # grow with concurrency (the process, libcurl and its TLS libraries)
                one = os.path.join(d, "one.jsonl")
                with open(one, "w") as f:
                    f.write('{"id":0,"text":"one review"}\n')
                base_rss = run_flow(flowc, flow, one, 1)[2]
                runs = []
                for _ in range(args.runs):
                    before = get_json("http://127.0.0.1:%d/stats" % port)
                    runs.append(run_flow(flowc, flow, inp, c))
                    after = get_json("http://127.0.0.1:%d/stats" % port)
                # minus one: the /stats request that read `after` opened a connection of its own
                conns = after.get("accepts", after.get("connections_accepted", 0)) - \
                    before.get("accepts", before.get("connections_accepted", 0)) - 1
                wall = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                rss = max(r[2] for r in runs)
                ideal = n / ((-(-n // c)) * latency / 1000.0) if latency else None
                results[latency] = {
                    "mock": kind, "calls": n, "concurrency": c, "req_per_s": n / wall,
                    "cpu_us_per_call": cpu / n * 1e6, "peak_rss_mb": rss / 1024,
                    "rss_kb_per_in_flight": (rss - base_rss) / (c - 1), "tcp_connections_last_run": conns,
                    "percent_of_ideal": (n / wall) / ideal * 100 if ideal else None,
                    "wrk_req_per_s": run_wrk(port, c),
                    "bare_libcurl": None if latency else run_bare_curl(d, port, n, c),
                }
            finally:
                mock.terminate()
                mock.wait()
    r0, r50 = results[0], results[50]
    met = [r0["req_per_s"] >= 40000, r50["percent_of_ideal"] >= 90] + \
          [r["rss_kb_per_in_flight"] <= 32 and r["tcp_connections_last_run"] <= c for r in (r0, r50)]
    if args.json:
        print(json.dumps(results, indent=2))
        sys.exit(1 if args.strict and not all(met) else 0)
    print("net_bench: %d calls at concurrency %d through a typed prompt, medians of %d runs (mock: %s)"
          % (n, c, args.runs, results[0]["mock"]))
    for lat in (0, 50):
        r = results[lat]
        extra = ("   %.1f%% of the ideal %d req/s   target >= 90%%  %s"
                 % (r["percent_of_ideal"], n / ((-(-n // c)) * lat / 1000.0),
                    "PASS" if r["percent_of_ideal"] >= 90 else "MISS")) if lat else \
                ("   target >= 40,000 req/s  %s" % ("PASS" if r["req_per_s"] >= 40000 else "MISS"))
        print("  latency %2d ms: %9.0f req/s%s" % (lat, r["req_per_s"], extra))
        print("                 %9.1f us CPU per call, peak RSS %.1f MB: %.1f KB per call in flight (target <= 32 KB %s),"
              % (r["cpu_us_per_call"], r["peak_rss_mb"], r["rss_kb_per_in_flight"],
                 "PASS" if r["rss_kb_per_in_flight"] <= 32 else "MISS"))
        print("                 %d TCP connections (target <= %d %s); wrk on the same mock: %s req/s"
              % (r["tcp_connections_last_run"], c, "PASS" if r["tcp_connections_last_run"] <= c else "MISS",
                 "%.0f" % r["wrk_req_per_s"] if r["wrk_req_per_s"] else "n/a"))
    bare = results[0]["bare_libcurl"]
    if bare:
        print("  the peers' bare C libcurl multi loop on the same mock in this run: %.0f req/s, %.1f us CPU per call"
              " (flow reaches %.0f%% of its rate)" % (bare[0], bare[1], results[0]["req_per_s"] / bare[0] * 100))
    print("  peers (shared/bench/peers/results.md, 2,000 calls, 256 in flight): LangGraph.js 484-1,823 req/s,")
    print("  BAML 3,974-4,900, hand-written Node 2,097-7,279, a bare C libcurl multi loop 53,606")
    sys.exit(1 if args.strict and not all(met) else 0)


if __name__ == "__main__":
    main()
