#!/usr/bin/env python3
"""native_bench.py - the native backend's benchmark (issue 6): an
expression-heavy flow (list processing and string building over 1,000,000
elements) run by the VM (`flowc run`) and as an executable (`flowc build`),
the executable's size, the build time, start-up, and a one-call "hello"
end to end against the loopback mock (as shared/bench/peers measures it).

Flow time is a run's wall time minus that of the same program over an input
that only has to be read (the input parsing both pay equally), medians of
--runs fresh processes each. Start-up is the wall time of a built executable
running a trivial program once; hello, that of one making one model call.
Targets: native >= 5x the VM on the flow; start-up to the first request
(hello) <= 5 ms. Usage: native_bench.py [--flowc PATH] [--runs N] [--json] [--strict]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import bench_args, write_file, start_mock

HEAVY = """type In { xs: int[] }
/// List processing and string building over every element.
flow main(i: In) -> int {
  let ys = for x in i.xs { yield x * 3 + 1 }
  let evens = filter(ys, y => y % 2 == 0)
  let words = for y in evens { yield "n" + str(y) + ";" }
  let text = join(words, "")
  yield sum(evens) + len(text)
}
"""

READ_ONLY = """type In { xs: int[] }
flow main(i: In) -> int { yield len(i.xs) }
"""

TRIVIAL = """flow main() -> int { yield 1 }
"""

HELLO = """model m { provider: openai, name: "mock-model", base_url: "http://127.0.0.1:%d/v1", max_tokens: 20 }
prompt hello(name: string) -> string {
  model: m
  user "Say hello to {{ name }}."
}
flow main(name: string) -> string { yield hello(name) }
"""

def wall(cmd, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - t0)
        if p.returncode != 0:
            raise SystemExit("native_bench: %s failed: %s" % (" ".join(cmd), p.stderr.decode()[-500:]))
    return statistics.median(times)


def main():
    args = bench_args(5)
    flowc = args.flowc
    n = 1_000_000
    out = {}
    with tempfile.TemporaryDirectory() as d:
        def path(name, text):
            return write_file(d, name, text)
        heavy, read_only, trivial = path("heavy.flow", HEAVY), path("read.flow", READ_ONLY), path("trivial.flow", TRIVIAL)
        items = path("items.jsonl", json.dumps({"xs": list(range(n))}) + "\n")
        builds = []
        for name, src in (("heavy", heavy), ("read", read_only), ("trivial", trivial)):
            t0 = time.perf_counter()
            subprocess.check_call([flowc, "build", src, "-o", os.path.join(d, name)])
            builds.append(time.perf_counter() - t0)
        exe = lambda name: os.path.join(d, name)
        vm = wall([flowc, "run", heavy, "--input", items], args.runs)
        vm_read = wall([flowc, "run", read_only, "--input", items], args.runs)
        nat = wall([exe("heavy"), "--input", items], args.runs)
        nat_read = wall([exe("read"), "--input", items], args.runs)
        vm_flow, nat_flow = max(vm - vm_read, 1e-9), max(nat - nat_read, 1e-9)
        startup = wall([exe("trivial")], max(args.runs, 21))
        mock, port, _ = start_mock(d)
        try:
            hello = path("hello.flow", HELLO % port)
            subprocess.check_call([flowc, "build", hello, "-o", exe("hello")])
            one = path("one.jsonl", '"Ada"\n')
            hello_ms = wall([exe("hello"), "--input", one], max(args.runs, 21)) * 1e3
        finally:
            mock.terminate()
            mock.wait()
        out = {"elements": n, "vm_wall_s": vm, "native_wall_s": nat, "vm_flow_s": vm_flow,
               "native_flow_s": nat_flow, "speedup": vm_flow / nat_flow,
               "executable_bytes": os.path.getsize(exe("heavy")), "build_s": statistics.median(builds),
               "startup_ms": startup * 1e3, "hello_ms": hello_ms}
    met = [out["speedup"] >= 5, out["hello_ms"] <= 5]
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        verdict = lambda ok: "PASS" if ok else "MISS"
        print("native_bench: VM (flowc run) against a built executable, medians of %d runs" % args.runs)
        print("  flow over %d elements: VM %.3f s, native %.3f s (walls %.3f / %.3f, input reading subtracted)"
              % (n, out["vm_flow_s"], out["native_flow_s"], out["vm_wall_s"], out["native_wall_s"]))
        print("  speedup           %6.1fx   target >= 5x   %s" % (out["speedup"], verdict(met[0])))
        print("  start-up          %6.2f ms (a trivial program, no request)" % out["startup_ms"])
        print("  hello, one call   %6.2f ms target <= 5 ms %s  (start, one request to the loopback mock, exit;"
              % (out["hello_ms"], verdict(met[1])))
        print("                                       a C libcurl client: 4 ms; BAML 83 ms; LangGraph 450 ms)")
        print("  executable        %6.0f KB; build %.0f ms" % (out["executable_bytes"] / 1024, out["build_s"] * 1e3))
    sys.exit(1 if args.strict and not all(met) else 0)


if __name__ == "__main__":
    main()
