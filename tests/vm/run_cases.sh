# run_cases.sh - golden tests of the VM: each tests/vm/cases/NAME.flow runs
# with the mock provider (and NAME.input.jsonl when present); stdout, stderr
# and the exit status must equal NAME.expected. `--bless` rewrites them.
# Usage: sh run_cases.sh FLOWC REPO_ROOT [--bless]
FLOWC=$1
ROOT=$2
BLESS=$3
[ -x "$FLOWC" ] || { echo "usage: sh run_cases.sh FLOWC REPO_ROOT [--bless] (expected an executable, found '$FLOWC')"; exit 2; }
cd "$ROOT" || exit 2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passes=0
fails=0
for flow in tests/vm/cases/*.flow; do
  name=${flow%.flow}
  input=$name.input.jsonl
  if [ -f "$input" ]; then
    "$FLOWC" run "$flow" --mock --keep-going --input "$input" >"$TMP/out" 2>"$TMP/err"
  else
    "$FLOWC" run "$flow" --mock --keep-going >"$TMP/out" 2>"$TMP/err"
  fi
  status=$?
  { cat "$TMP/out"; echo "--- stderr"; cat "$TMP/err"; echo "--- exit: $status"; } >"$TMP/actual"
  if [ "$status" -ge 128 ]; then
    fails=$((fails + 1))
    echo "FAIL $flow: crashed (exit $status)"
    cat "$TMP/err" | head -20
    continue
  fi
  if [ "$BLESS" = "--bless" ]; then
    cp "$TMP/actual" "$name.expected"
    passes=$((passes + 1))
  elif cmp -s "$TMP/actual" "$name.expected"; then
    passes=$((passes + 1))
  else
    fails=$((fails + 1))
    echo "FAIL $flow:"
    diff "$name.expected" "$TMP/actual" | head -20
  fi
done
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
