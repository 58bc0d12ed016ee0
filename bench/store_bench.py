#!/usr/bin/env python3
"""store_bench.py - the run store's benchmark (issue 7): what keeping a
store costs per model call (a network run against the loopback mock with
the store on, against the same run with --store off: CPU time per call),
and a fully cached rerun of 100,000 calls (every reply from the store: calls
per second). Targets: <= 20 us per call; >= 100,000 calls/s. Medians of
--runs runs. Usage: store_bench.py [--flowc PATH] [--runs N] [--json] [--strict]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import bench_args, start_mock

HERE = os.path.dirname(os.path.abspath(__file__))

FLOW = """model m { provider: openai, name: "mock-model", base_url: "http://127.0.0.1:%d/v1", max_tokens: 50 }
type Item { id: int, text: string }
prompt label(t: string) -> string {
  model: m
  user "Label: {{ t }}"
}
flow main(item: Item) -> string { yield label(item.text) }
"""


def run(cmd):
    """Wall and CPU seconds of one run."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("store_bench: %s failed: %s" % (" ".join(cmd), p.stderr.read().decode()[-500:]))
    return wall, usage.ru_utime + usage.ru_stime


def main():
    args = bench_args(3)
    flowc = args.flowc
    env = dict(os.environ)
    env.pop("FLOW_STORE", None)
    os.environ.clear()
    os.environ.update(env)
    out = {}
    with tempfile.TemporaryDirectory() as d:
        mock, port, _ = start_mock(d)
        try:
            flow = os.path.join(d, "p.flow")
            with open(flow, "w") as f:
                f.write(FLOW % port)

            def items(name, n, salt):
                path = os.path.join(d, name)
                with open(path, "w") as f:
                    for i in range(n):
                        f.write('{"id":%d,"text":"%s review %d"}\n' % (i, salt, i))
                return path

            # (a) overhead per call: fresh stores, so every call is asked and kept
            n = 20000
            on, off = [], []
            for r in range(args.runs):
                inp = items("a%d.jsonl" % r, n, "fresh%d" % r)
                on.append(run([flowc, "run", flow, "--input", inp, "--concurrency", "64",
                               "--store", os.path.join(d, "a%d.db" % r)])[1])
                off.append(run([flowc, "run", flow, "--input", inp, "--concurrency", "64", "--store", "off"])[1])
            overhead = (statistics.median(on) - statistics.median(off)) / n * 1e6

            # (b) a fully cached rerun of 100,000 calls
            m = 100000
            inp = items("b.jsonl", m, "cached")
            db = os.path.join(d, "b.db")
            run([flowc, "run", flow, "--input", inp, "--concurrency", "256", "--store", db])
            walls = [run([flowc, "run", flow, "--input", inp, "--concurrency", "256", "--store", db])[0]
                     for _ in range(args.runs)]
            cached = m / statistics.median(walls)
            out = {"calls": n, "cpu_s_store_on": statistics.median(on), "cpu_s_store_off": statistics.median(off),
                   "overhead_us_per_call": overhead, "cached_calls": m, "cached_wall_s": statistics.median(walls),
                   "cached_calls_per_s": cached}
        finally:
            mock.terminate()
            mock.wait()
    met = [out["overhead_us_per_call"] <= 20, out["cached_calls_per_s"] >= 100000]
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        verdict = lambda ok: "PASS" if ok else "MISS"
        print("store_bench: the run store, medians of %d runs" % args.runs)
        print("  store overhead   %7.1f us per call   target <= 20 us   %s  (%d calls: CPU %.3f s with the store, %.3f s without)"
              % (out["overhead_us_per_call"], verdict(met[0]), n, out["cpu_s_store_on"], out["cpu_s_store_off"]))
        print("  cached rerun     %7.0f calls/s       target >= 100,000 %s  (%d calls in %.3f s, every reply from the store)"
              % (out["cached_calls_per_s"], verdict(met[1]), out["cached_calls"], out["cached_wall_s"]))
    sys.exit(1 if args.strict and not all(met) else 0)


if __name__ == "__main__":
    main()
