#!/usr/bin/python3
"""check_bench.py - how fast `flowc check` reads a large program, and in how much memory.

Generates the synthetic program of gen_program.py (unless it is already there
with the same options), runs `flowc check main.flow` once to warm the caches
and then --runs times, each in its own child process, and prints the program
size, the median wall time, the throughput in source lines per second, the
peak resident set size of the child and that peak per source line, with a
PASS/MISS verdict against the targets:

    throughput  >= 1,000,000 lines/s   (median run)
    memory      <= 1 KB peak RSS per source line (largest run)

The peak RSS of each run is the child's own ru_maxrss, read with os.wait4 on
that child alone, so it is not mixed with other processes. Linux counts in it
the resident size of the forked parent at exec time (~10 MB of Python), so a
figure at that floor (measured with /bin/true and printed) is an upper bound. Exit status: 0 when
every run checked the program cleanly (a MISS is reported, not fatal, unless
--strict), 1 when flowc failed or reported errors, 2 on bad usage.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

TARGET_LINES_PER_S = 1_000_000
TARGET_BYTES_PER_LINE = 1024


def generate_if_needed(prog, lines, seed, modules):
    """(Re)generate the program unless gen.json says it is already this one."""
    want = {"lines": lines, "seed": seed}
    meta = os.path.join(prog, "gen.json")
    try:
        with open(meta) as f:
            have = json.load(f)
        if all(have.get(k) == v for k, v in want.items()) and \
                (not modules or have.get("modules") == modules) and \
                os.path.exists(os.path.join(prog, "main.flow")):
            return
    except (OSError, ValueError):
        pass
    cmd = [sys.executable, os.path.join(HERE, "gen_program.py"),
           "--lines", str(lines), "--seed", str(seed), "--out", prog]
    if modules:
        cmd += ["--modules", str(modules)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def count_sources(prog):
    """(files, lines, bytes) of every .flow file under prog."""
    files = lines = nbytes = 0
    for dirpath, dirnames, filenames in os.walk(prog):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".flow"):
                with open(os.path.join(dirpath, name), "rb") as f:
                    data = f.read()
                files += 1
                nbytes += len(data)
                lines += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return files, lines, nbytes


def run_once(argv, cwd):
    """Run argv; returns (wall seconds, exit status, peak RSS bytes, stderr text)."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    # ru_maxrss is in kilobytes on Linux.
    return wall, p.returncode, ru.ru_maxrss * 1024, text


def fmt_int(n):
    return "{:,}".format(int(round(n)))


def main():
    ap = argparse.ArgumentParser(description="Benchmark `flowc check` on a generated program.")
    ap.add_argument("--flowc", default=os.environ.get("FLOWC", os.path.join(ROOT, "build", "flowc")),
                    help="the flowc binary (default $FLOWC or build/flowc)")
    ap.add_argument("--lines", type=int, default=100_000, help="program size in lines (default 100000)")
    ap.add_argument("--modules", type=int, default=0, help="module files (default: the generator's)")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    ap.add_argument("--runs", type=int, default=5, help="measured runs (default 5)")
    ap.add_argument("--prog", default=None, help="program directory (default bench/out/prog, "
                    "or bench/out/prog-LINES-SEED for non-default sizes)")
    ap.add_argument("--json", action="store_true", help="also print one JSON line with the figures")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    a = ap.parse_args()

    if not os.access(a.flowc, os.X_OK):
        print("check_bench: no flowc at %s (build first, or set FLOWC)" % a.flowc, file=sys.stderr)
        return 2
    if a.runs < 1:
        print("check_bench: --runs must be at least 1", file=sys.stderr)
        return 2
    prog = a.prog
    if prog is None:
        default = a.lines == 100_000 and a.seed == 1 and not a.modules
        prog = os.path.join(HERE, "out", "prog" if default else "prog-%d-%d" % (a.lines, a.seed))
    generate_if_needed(prog, a.lines, a.seed, a.modules)
    files, lines, nbytes = count_sources(prog)

    argv = [os.path.abspath(a.flowc), "check", "main.flow"]
    # ru_maxrss of a child starts at its parent's resident size when it
    # execs; measure that floor with a trivial program.
    floor = run_once(["/bin/true"] if os.path.exists("/bin/true") else ["true"], prog)[2]
    run_once(argv, prog)  # warm-up: page cache, dynamic loader
    walls, rss = [], []
    for _ in range(a.runs):
        wall, status, peak, err = run_once(argv, prog)
        if status != 0 or any(ln.startswith("error") for ln in err.splitlines()):
            print("check_bench: `flowc check main.flow` in %s exited with %d; first lines of its output:"
                  % (prog, status), file=sys.stderr)
            for ln in err.splitlines()[:40]:
                print("  " + ln, file=sys.stderr)
            return 1
        walls.append(wall)
        rss.append(peak)
    nwarn = sum(1 for ln in err.splitlines() if ln.startswith("warning"))

    med = statistics.median(walls)
    lps = lines / med if med > 0 else float("inf")
    peak = max(rss)
    bpl = peak / lines if lines else float("inf")
    ok_speed = lps >= TARGET_LINES_PER_S
    ok_mem = bpl <= TARGET_BYTES_PER_LINE
    at_floor = peak <= floor * 1.05
    # At the floor the figure is only an upper bound: a miss there proves nothing.
    mem_verdict = "PASS" if ok_mem else ("N/A (at the spawn floor; try more --lines)" if at_floor else "MISS")

    shown = os.path.relpath(prog, ROOT) if os.path.abspath(prog).startswith(ROOT + os.sep) else prog
    print("check_bench: flowc check on a generated program (%s)" % shown)
    print("  files             %s" % fmt_int(files))
    print("  lines             %s" % fmt_int(lines))
    print("  bytes             %s" % fmt_int(nbytes))
    print("  warnings          %d" % nwarn)
    print("  runs (s)          %s" % " ".join("%.4f" % w for w in walls))
    print("  median wall       %.4f s" % med)
    print("  lines/s (median)  %-12s target >= %s  %s"
          % (fmt_int(lps), fmt_int(TARGET_LINES_PER_S), "PASS" if ok_speed else "MISS"))
    print("  peak RSS          %.1f MB%s" % (peak / (1024 * 1024),
          "  (at the %.1f MB floor of a spawned child: flowc used at most this)" % (floor / (1024 * 1024))
          if at_floor else ""))
    print("  RSS bytes/line    %-12s target <= %s     %s"
          % (fmt_int(bpl), fmt_int(TARGET_BYTES_PER_LINE), mem_verdict))
    if a.json:
        print(json.dumps({"benchmark": "check", "files": files, "lines": lines, "bytes": nbytes,
                          "warnings": nwarn, "walls": walls, "median_s": med, "lines_per_s": lps,
                          "peak_rss": peak, "rss_floor": floor, "rss_bytes_per_line": bpl,
                          "pass_speed": ok_speed, "pass_memory": ok_mem}, sort_keys=True))
    if a.strict and not (ok_speed and (ok_mem or at_floor)):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
