# determinism.sh - the determinism contract (docs/determinism.md): every
# example, run offline with the mock provider, gives byte-identical output,
# error report and logical trace for 20 latency seeds at concurrency 1, 4 and
# 64 (the seeds change the order in which replies complete).
# Usage: sh determinism.sh FLOWC REPO_ROOT
. "$(dirname "$0")/../cli/lib.sh" "$1"
ROOT=$(cd "${2:?usage: sh determinism.sh FLOWC REPO_ROOT}" && pwd)
FLOWC=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")
SEEDS=${SEEDS:-20}

for flow in "$ROOT"/examples/*/*.flow; do
  name=$(basename "$flow" .flow)
  input="${flow%.flow}.input.jsonl"
  ref="$TMP/$name.ref"
  "$FLOWC" run "$flow" --mock --keep-going --input "$input" --concurrency 1 \
    --output "$ref.out" --errors "$ref.err" --trace "$ref.trace" 2>/dev/null
  if [ -s "$ref.trace" ]; then pass; else fails=$((fails + 1)); echo "FAIL: $name: the reference run wrote no trace"; fi
  seed=1
  while [ "$seed" -le "$SEEDS" ]; do
    for conc in 1 4 64; do
      run_dir="$TMP/$name.$seed.$conc"
      "$FLOWC" run "$flow" --mock --keep-going --input "$input" --seed "$seed" --concurrency "$conc" \
        --output "$run_dir.out" --errors "$run_dir.err" --trace "$run_dir.trace" 2>/dev/null
      if cmp -s "$ref.out" "$run_dir.out" && cmp -s "$ref.err" "$run_dir.err" && same_logical "$ref.trace" "$run_dir.trace"; then
        pass
      else
        fails=$((fails + 1))
        echo "FAIL: $name differs with --seed $seed --concurrency $conc"
        diff "$ref.out" "$run_dir.out" | head -5
        diff "$ref.trace" "$run_dir.trace" | head -5
      fi
      rm -f "$run_dir.out" "$run_dir.err" "$run_dir.trace"
    done
    seed=$((seed + 1))
  done
done
finish
