# summary.sh - the table of model calls that ends a run, the same figures in
# --metrics, and the progress line (docs/running.md, "Summary and progress"):
#  1. two prompts under --mock --seed 3: a row each (calls as the program
#     makes them, none cached, retried or failed), then the total; the
#     latencies are the seeded mock latencies on the virtual clock (none
#     without --seed), so the table is the same bytes on a second run and
#     at another concurrency; --metrics holds the same figures.
#  2. `else retry 2` on an item whose check always fails: its two re-asks are
#     calls and retries; a replayed call the cassette lacks is a failed call.
#  3. against the mock model server with a store: the first run asks every
#     call, and a 503 the policy re-sends counts as a retry; a second
#     identical run shows every call cached, with no request reaching the
#     server, no time, no tokens and no cost.
#  4. --progress without a terminal: one line per update naming the items
#     (of the input file's total; without a total from stdin), the last one
#     complete; nothing without the flag; the results are the same. On a
#     terminal (a pseudo-terminal): redrawn in place, erased before the
#     table and before each result written to the same terminal.
# Usage: sh summary.sh FLOWC MOCKSERVER
. "$(dirname "$0")/../net/lib.sh" "$@"
cd "$TMP" || exit 2
trap 'kill $server $extra_pids 2>/dev/null; cp -r "$TMP" /tmp/wt-summary-keep; rm -rf "$TMP"' EXIT

# table FILE: the table of model calls in stderr FILE (its header line on)
table() { awk '/^flowc: model calls$/ { t = 1; print; next } t && /^  / { print; next } { t = 0 }' "$1"; }
# cell FILE ROW COLUMN: a cell of the table (columns: 1 the name ... 7 p95;
# 8 tokens; 9 cost)
cell() { table "$1" | awk -v r="$2" -v c="$3" '$1 == r { print $c }'; }
same() { if [ "$1" = "$2" ]; then pass; else fail "$3: expected '$2', found '$1'"; fi; }

cat > s.flow <<'FLOW'
model m {
  provider: openai, name: "gpt-test", max_tokens: 40
  price { input: 2.0 per 1M, output: 8.0 per 1M }
}
type Item { id: string, text: string }
type Out { id: string, tag: string, parts: string[] }
prompt tag(t: string) -> string {
  model: m
  user "Tag: {{ t }}"
}
prompt summarize(t: string) -> string {
  model: m
  user "Summarize: {{ t }}"
}
flow main(item: Item) -> Out {
  let t = tag(item.text)
  let parts = for w in take(split(item.text, " "), 2) parallel 4 { yield summarize(w) }
  yield Out { id: item.id, tag: t, parts: parts }
}
FLOW
i=0; while [ $i -lt 6 ]; do printf '{"id":"i%d","text":"item %d of the run"}\n' $i $i; i=$((i + 1)); done > in.jsonl

# ---- 1. the table under the mock provider -----------------------------------
run "$FLOWC" run s.flow --mock --seed 3 --input in.jsonl --metrics m.json
expect_status 0 "the seeded mock run"
cp "$TMP/err" err1.txt
cp "$TMP/out" out1.txt
same "$(table err1.txt | sed -n 2p | tr -s ' ')" " prompt calls cached retries failed p50 ms p95 ms tokens in/out cost USD" "the header row"
same "$(table err1.txt | awk 'NR > 2 { print $1 }' | tr '\n' ' ')" "tag summarize total " "one row per prompt, then the total"
same "$(table err1.txt | awk 'NR > 2 { print $2, $3, $4, $5 }' | tr '\n' ',')" "6 0 0 0,12 0 0 0,18 0 0 0," \
  "calls, cached, retries and failed per prompt"
"$PYTHON" - err1.txt <<'PY' > check.txt 2>&1
import re, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if line.startswith("  ") and f[0] in ("tag", "summarize", "total"):
        rows[f[0]] = f
bad = []
for name, f in rows.items():
    p50, p95 = float(f[5]), float(f[6])
    if not (0 < p50 <= p95 <= 50.0): bad.append("%s: p50 %s, p95 %s outside (0, 50] or out of order" % (name, p50, p95))
    if not re.fullmatch(r"~[1-9][0-9]*/[1-9][0-9]*", f[7]): bad.append("%s: tokens %s" % (name, f[7]))
    if not re.fullmatch(r"0\.[0-9]{4}", f[8]): bad.append("%s: cost %s" % (name, f[8]))
tin = sum(int(rows[n][7][1:].split("/")[0]) for n in ("tag", "summarize"))
if "~%d/" % tin not in rows["total"][7]: bad.append("the total's input tokens are not the sum: %s" % rows["total"][7])
print("\n".join(bad) if bad else "OK")
PY
if [ "$(cat check.txt)" = OK ]; then pass; else fails=$((fails + 1)); echo "FAIL: the seeded table"; cat check.txt; table err1.txt; fi

run "$FLOWC" run s.flow --mock --seed 3 --input in.jsonl
if cmp -s err1.txt "$TMP/err"; then pass; else fail "a second run with the same flags: a different stderr"; fi
run "$FLOWC" run s.flow --mock --seed 3 --input in.jsonl --concurrency 1
table "$TMP/err" > t1.txt
table err1.txt > t16.txt
if cmp -s t16.txt t1.txt; then pass; else fail "the table differs at concurrency 1 (latencies run from send to reply)"; fi
if cmp -s out1.txt "$TMP/out"; then pass; else fail "the results differ at concurrency 1"; fi
run "$FLOWC" run s.flow --mock --seed 4 --input in.jsonl
if [ "$(cell "$TMP/err" total 6)" != "$(cell err1.txt total 6)" ]; then pass; else fail "another seed draws other latencies"; fi
run "$FLOWC" run s.flow --mock --input in.jsonl
same "$(cell "$TMP/err" total 6)/$(cell "$TMP/err" total 7)" "0.0/0.0" "no --seed: the mock takes no time"

"$PYTHON" - m.json err1.txt <<'PY' > check.txt 2>&1
import json, sys
m = json.load(open(sys.argv[1]))
rows = {l.split()[0]: l.split() for l in open(sys.argv[2]) if l.startswith("  ")}
bad = []
for name, key in (("tag", "tag"), ("summarize", "summarize"), ("total", None)):
    o = m["total"] if key is None else m["prompts"][key]
    f = rows[name]
    want = {"calls": int(f[1]), "cache_hits": int(f[2]), "retries": int(f[3]), "failed": int(f[4])}
    got = {k: o.get(k) for k in want}
    if got != want: bad.append("%s: %s in --metrics, %s in the table" % (name, got, want))
    if "%.1f" % o["p50_ms"] != f[5] or "%.1f" % o["p95_ms"] != f[6]:
        bad.append("%s: p50_ms %s, p95_ms %s; the table has %s, %s" % (name, o["p50_ms"], o["p95_ms"], f[5], f[6]))
    if "~%d/%d" % (o["input_tokens"], o["output_tokens"]) != f[7] or "%.4f" % o["cost_usd"] != f[8]:
        bad.append("%s: tokens or cost differ from the table" % name)
print("\n".join(bad) if bad else "OK")
PY
if [ "$(cat check.txt)" = OK ]; then pass; else fails=$((fails + 1)); echo "FAIL: --metrics and the table"; cat check.txt; fi

# ---- 2. re-asks and failed calls ---------------------------------------------
cat > r.flow <<'FLOW'
model m { provider: openai, name: "gpt-test", max_tokens: 40 }
prompt draft(id: string) -> string {
  model: m
  user "Draft for {{ id }}"
}
flow main(id: string) -> string {
  let r = draft(id)
  check r != "" and id != "stubborn" else retry 2
  yield r
}
FLOW
printf '"a"\n"stubborn"\n"b"\n' > r.jsonl
run "$FLOWC" run r.flow --mock --keep-going --input r.jsonl --metrics rm.json
expect_status 1 "the stubborn item fails after its re-asks"
same "$(table "$TMP/err" | awk '$1 == "draft" { print $2, $3, $4, $5 }')" "5 0 2 0" "two re-asks: 5 calls, 2 retries"
same "$("$PYTHON" -c 'import json,sys; p = json.load(open(sys.argv[1]))["prompts"]["draft"]; print(p["calls"], p["retries"])' rm.json)" \
  "5 2" "--metrics counts the re-asks"
printf '"a"\n' > one.jsonl
run "$FLOWC" run r.flow --mock --input one.jsonl --record rec.jsonl
run "$FLOWC" run r.flow --replay rec.jsonl --keep-going --input r.jsonl
expect_status 1 "replaying a cassette that lacks two items"
same "$(table "$TMP/err" | awk '$1 == "draft" { print $2, $5 }')" "3 2" "calls the cassette lacks are failed calls"

# ---- 3. the network, and the cache --------------------------------------------
cat > script.jsonl <<'JSON'
{"match": "Summarize: f503", "times": 1, "fault": "503"}
JSON
start_mock --lifetime 120 --latency-ms 5 --script script.jsonl
requests() { curl -s --noproxy '*' "http://127.0.0.1:$PORT/stats" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["endpoints"]["openai"])'; }
cat > n.flow <<FLOW
model m {
  provider: openai, name: "gpt-test", base_url: "http://127.0.0.1:$PORT/v1", max_tokens: 30
  price { input: 2.0 per 1M, output: 8.0 per 1M }
}
policy patient { retry: 2, backoff: exponential(5ms, factor: 2, max: 20ms) }
prompt a(t: string) -> string {
  model: m
  policy: patient
  user "Summarize: {{ t }}"
}
prompt b(t: string) -> string {
  model: m
  user "Translate: {{ t }}"
}
flow main(t: string) -> string { yield a(t) + " / " + b(t) }
FLOW
printf '"%s"\n' one two f503 four five > n.jsonl
export OPENAI_API_KEY=sk-test
r0=$(requests)
run "$FLOWC" run n.flow --input n.jsonl --store s.db --metrics n1.json
expect_status 0 "the first network run"
cp "$TMP/out" nout1.txt
cp "$TMP/err" nerr1.txt
r1=$(requests)
same $((r1 - r0)) 11 "the first run asks every call, and the 503 once more"
same "$(table nerr1.txt | awk 'NR > 2 { print $1, $2, $3, $4, $5 }' | tr '\n' ',')" "a 5 0 1 0,b 5 0 0 0,total 10 0 1 0," \
  "the first run: nothing cached, the re-sent 503 a retry"
p50=$(cell nerr1.txt a 6)
if "$PYTHON" -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 5.0 else 1)' "$p50"; then pass; else
  fail "a network call takes the server's time (--latency-ms 5), found p50 $p50"; fi

run "$FLOWC" run n.flow --input n.jsonl --store s.db --metrics n2.json
expect_status 0 "the second network run"
r2=$(requests)
same $((r2 - r1)) 0 "the second identical run sends no request"
if cmp -s nout1.txt "$TMP/out"; then pass; else fail "the cached run's results are the first run's"; fi
same "$(table "$TMP/err" | awk 'NR > 2 { print $1, $2, $3, $4, $5, $6, $7, $8, $9 }' | tr '\n' ',')" \
  "a 5 5 0 0 0.0 0.0 0/0 0.0000,b 5 5 0 0 0.0 0.0 0/0 0.0000,total 10 10 0 0 0.0 0.0 0/0 0.0000," \
  "the second run: every call cached, no time, no tokens, no cost"
same "$("$PYTHON" -c 'import json,sys; t = json.load(open(sys.argv[1]))["total"]; print(t["calls"], t["cache_hits"], t["p95_ms"], t["cost_usd"])' n2.json)" \
  "10 10 0.0 0.0" "--metrics: every call a cache hit"

# ---- 4. the progress line -------------------------------------------------------
run "$FLOWC" run s.flow --mock --seed 3 --input in.jsonl --progress
expect_status 0 "a run with --progress"
if cmp -s out1.txt "$TMP/out"; then pass; else fail "--progress changes the results"; fi
grep '^flowc: items' "$TMP/err" > progress.txt
n=$(wc -l < progress.txt)
if [ "$n" -ge 1 ]; then pass; else fail "--progress without a terminal: expected lines naming the items"; fi
same "$(grep -c "$(printf '\r')" "$TMP/err")" 0 "--progress without a terminal: no carriage return"
same "$(tail -1 progress.txt | sed 's/  tokens.*//')" "flowc: items 6/6  failed 0  in flight 0" "the last line: every item done"
same "$(head -1 progress.txt | sed 's/  failed.*//')" "flowc: items 0/6" "the first line: the input's total, nothing done"
if table "$TMP/err" | cmp -s - t16.txt; then pass; else fail "--progress changes the table"; fi
run "$FLOWC" run s.flow --mock --seed 3 --input - --progress < in.jsonl
same "$(grep '^flowc: items' "$TMP/err" | tail -1 | sed 's/  failed.*//')" "flowc: items 6" "from stdin: no total"
run "$FLOWC" run s.flow --mock --seed 3 --input in.jsonl
same "$(grep -c 'items' "$TMP/err")" 0 "no progress without --progress when stderr is not a terminal"

# on a terminal: stderr (and, in the second run, stdout) on a pseudo-terminal
"$PYTHON" - "$FLOWC" <<'PY' > check.txt 2>&1
import os, pty, subprocess, sys
flowc = sys.argv[1]
def on_pty(stdout_too):
    master, slave = pty.openpty()
    out = subprocess.PIPE if not stdout_too else slave
    p = subprocess.Popen([flowc, "run", "s.flow", "--mock", "--seed", "3", "--input", "in.jsonl"],
                         stdout=out, stderr=slave, close_fds=True)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk: break
        seen += chunk
    results = p.stdout.read() if p.stdout else b""
    p.wait()
    os.close(master)
    return p.returncode, seen.decode(), results.decode()
bad = []
status, seen, results = on_pty(False)
want = open("out1.txt").read()
if status != 0: bad.append("exit status %d" % status)
if results != want: bad.append("the results differ on a terminal")
head, _, rest = seen.partition("flowc: model calls")
if not rest: bad.append("no table on the terminal: %r" % seen)
if not head.startswith("\rflowc: items 0/6"): bad.append("the line is not drawn at the start: %r" % head[:80])
if "\n" in head: bad.append("the progress line ends a line: %r" % head)
if not (head.endswith("\r") and head.rstrip("\r").split("\r")[-1].strip() == ""):
    bad.append("the line is not erased before the table: %r" % head[-120:])
status, seen, _ = on_pty(True)
shown = [l.rstrip("\r").split("\r")[-1] for l in seen.split("\n")]
got = [l for l in shown if l.startswith("{")]
if got != want.splitlines(): bad.append("results on the same terminal are not shown whole: %r" % shown)
if any("items" in l for l in shown): bad.append("a progress line was left on the terminal: %r" % shown)
print("\n".join(bad) if bad else "OK")
PY
if [ "$(cat check.txt)" = OK ]; then pass; else fails=$((fails + 1)); echo "FAIL: the progress line on a terminal"; cat check.txt; fi
finish
