#!/usr/bin/env python3
"""run_bench.py - the execution core's benchmarks (issue 3), with targets.

  (a) pure steps: one item whose flow maps 1,000,000 integers through a `for`
      loop (each iteration a task: fork, arithmetic, yield) and sums them;
  (b) mocked model calls: 100,000 items, one prompt call each, through the
      mock provider at zero latency (rendering, request hashing, mock reply,
      decoding, output);
  (c) start-up: `flowc run` of a trivial compiled flow, end to end.

Each runs --runs times (default 5); the script prints medians, and peak RSS
from os.wait4. Usage: run_bench.py [--flowc PATH] [--runs N] [--json] [--strict]
(--strict: exit 1 when a target is missed)
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import bench_args, write_file

PURE = """type In { xs: int[] }
flow main(i: In) -> int {
  let ys = for x in i.xs { yield x * 2 + 1 }
  yield sum(ys)
}
"""

CALLS = """model m { provider: mock, name: "m", max_tokens: 10 }
type Item { id: int, text: string }
type Out { id: int, label: Label }
enum Label { positive, negative, neutral }
type Verdict { label: Label, confidence: float }
prompt classify(t: string) -> Verdict {
  model: m
  user "Classify the sentiment of: {{ t }}"
}
flow main(item: Item) -> Out {
  let v = classify(item.text)
  yield Out { id: item.id, label: v.label }
}
"""

TRIVIAL = """flow main() -> string { yield "ok" }
"""


GNU_TIME = "/usr/bin/time"


def run(cmd, stdin_path=None):
    """Wall seconds and peak RSS (KB) of one run; raises on failure.

    The RSS comes from GNU time when it is installed: a child's ru_maxrss as
    seen by os.wait4 starts from the size of this Python process (the child
    is forked from it), which the big generated inputs inflate."""
    timed = os.path.exists(GNU_TIME)
    full = ([GNU_TIME, "-f", "FLOW_MAXRSS_KB=%M"] if timed else []) + cmd
    with open(stdin_path or os.devnull, "rb") as fin, open(os.devnull, "wb") as fout:
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdin=fin, stdout=fout, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        err = p.stderr.read().decode(errors="replace")
        p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("run_bench: %s failed: %s" % (" ".join(cmd), err[:500]))
    rss = usage.ru_maxrss
    for line in err.splitlines():
        if line.startswith("FLOW_MAXRSS_KB="):
            rss = int(line.split("=", 1)[1])
    return wall, rss


def median_run(cmd, runs):
    results = [run(cmd) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def main():
    args = bench_args(5)
    flowc = args.flowc
    out = {}
    with tempfile.TemporaryDirectory() as d:
        def path(name, text):
            return write_file(d, name, text)

        # (a) pure steps
        n = 1_000_000
        pure = path("pure.flow", PURE)
        pure_bc = os.path.join(d, "pure.flowbc")
        subprocess.check_call([flowc, "compile", "-o", pure_bc, pure])
        inp = path("pure.jsonl", json.dumps({"xs": list(range(n))}) + "\n")
        wall, rss = median_run([flowc, "run", pure_bc, "--input", inp], args.runs)
        # the same run over one element measures the fixed costs (start, input parsing)
        small = path("small.jsonl", json.dumps({"xs": [1]}) + "\n")
        base, _ = median_run([flowc, "run", pure_bc, "--input", small], args.runs)
        parse = path("parse.flow", "type In { xs: int[] }\nflow main(i: In) -> int { yield len(i.xs) }\n")
        parse_wall, _ = median_run([flowc, "run", parse, "--input", inp], args.runs)
        per_step = max(wall - parse_wall, 0) / n * 1e6
        out["pure"] = {"steps": n, "wall_s": wall, "input_parse_s": parse_wall, "us_per_step": per_step,
                       "peak_rss_mb": rss / 1024}

        # (b) mocked calls
        m = 100_000
        calls = path("calls.flow", CALLS)
        calls_bc = os.path.join(d, "calls.flowbc")
        subprocess.check_call([flowc, "compile", "-o", calls_bc, calls])
        items = path("calls.jsonl", "".join('{"id":%d,"text":"review number %d was fine"}\n' % (i, i) for i in range(m)))
        wall, rss = median_run([flowc, "run", calls_bc, "--mock", "--concurrency", "256", "--input", items], args.runs)
        out["calls"] = {"calls": m, "wall_s": wall, "us_per_call": wall / m * 1e6, "peak_rss_mb": rss / 1024}

        # (c) start-up
        triv = path("trivial.flow", TRIVIAL)
        triv_bc = os.path.join(d, "trivial.flowbc")
        subprocess.check_call([flowc, "compile", "-o", triv_bc, triv])
        wall, rss = median_run([flowc, "run", triv_bc], max(args.runs, 21))
        src_wall, _ = median_run([flowc, "run", triv], max(args.runs, 21))
        out["startup"] = {"bytecode_ms": wall * 1e3, "source_ms": src_wall * 1e3, "peak_rss_mb": rss / 1024}

    p, c, s = out["pure"], out["calls"], out["startup"]
    met = [p["us_per_step"] <= 1, c["us_per_call"] <= 10, c["peak_rss_mb"] <= 20, s["bytecode_ms"] <= 5]
    if args.json:
        print(json.dumps(out, indent=2))
        sys.exit(1 if args.strict and not all(met) else 0)

    def verdict(ok):
        return "PASS" if ok else "MISS"
    print("run_bench: flowc run, medians of %d runs" % args.runs)
    print("  (a) pure steps       %9.3f us/step  (%d steps in %.3f s, input parsing %.3f s)   target <= 1 us   %s"
          % (p["us_per_step"], p["steps"], p["wall_s"], p["input_parse_s"], verdict(p["us_per_step"] <= 1)))
    print("  (b) mocked calls     %9.3f us/call  (%d calls in %.3f s)                          target <= 10 us  %s"
          % (c["us_per_call"], c["calls"], c["wall_s"], verdict(c["us_per_call"] <= 10)))
    print("      peak RSS         %9.1f MB                                                 target <= 20 MB  %s"
          % (c["peak_rss_mb"], verdict(c["peak_rss_mb"] <= 20)))
    print("  (c) start-up         %9.2f ms from bytecode, %.2f ms from source             target <= 5 ms   %s"
          % (s["bytecode_ms"], s["source_ms"], verdict(s["bytecode_ms"] <= 5)))
    print("  for scale (shared/bench/peers/results.md): LangGraph.js 676 us per trivial node; BAML hello 83 ms,")
    print("  LangGraph hello 450 ms, a C libcurl client 4 ms")
    sys.exit(1 if args.strict and not all(met) else 0)


if __name__ == "__main__":
    main()
