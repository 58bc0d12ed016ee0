# memory.sh - input is streamed: N items (1,000,000 in the normal build)
# through `for ... parallel 64` with --concurrency 64 keep the peak RSS under
# a fixed bound, whatever N is. Usage: sh memory.sh FLOWC ITEMS MAX_MB
. "$(dirname "$0")/../cli/lib.sh" "$1"
FLOWC=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")
ITEMS=${2:-1000000}
MAX_MB=${3:-64}
cd "$TMP" || exit 2
cat > stream.flow <<'FLOW'
model m { provider: mock, name: "m", max_tokens: 10 }
type Item { id: int, text: string }
type Out { id: int, labels: string[], n: int }
prompt label(t: string) -> string {
  model: m
  user "Label: {{ t }}"
}
flow main(item: Item) -> Out {
  let words = split(item.text, " ")
  let labels = for w in take(words, 2) parallel 64 { yield label(w) }
  yield Out { id: item.id, labels: labels, n: len(words) }
}
FLOW
awk -v n="$ITEMS" 'BEGIN { for (i = 0; i < n; i++) printf "{\"id\":%d,\"text\":\"item %d with a few words\"}\n", i, i }' > in.jsonl
"$PYTHON" - "$FLOWC" "$MAX_MB" "$ITEMS" <<'PY'
import os, resource, subprocess, sys
flowc, max_mb, items = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open("out.jsonl", "wb") as out:
    rc = subprocess.call([flowc, "run", "stream.flow", "--mock", "--concurrency", "64", "--input", "in.jsonl"], stdout=out)
peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
lines = sum(1 for _ in open("out.jsonl", "rb"))
print("items %d, exit %d, output lines %d, peak RSS %.1f MB (bound %d MB)" % (items, rc, lines, peak_mb, max_mb))
sys.exit(0 if rc == 0 and lines == items and peak_mb <= max_mb else 1)
PY
if [ $? -eq 0 ]; then pass; else fails=$((fails + 1)); echo "FAIL: streamed run over the memory bound or incomplete"; fi
finish
