# examples.sh - the examples are what users copy: they must check clean, ship
# their sample inputs, and a typo in one must be reported the way the README
# promises (rustc layout, caret under the field, "did you mean", valid SARIF).
# Usage: sh examples.sh FLOWC REPO_ROOT
. "$(dirname "$0")/../cli/lib.sh" "$1"
ROOT=$(cd "${2:?usage: sh examples.sh FLOWC REPO_ROOT}" && pwd)
FLOWC=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")
cd "$ROOT" || exit 2

# 1. every example checks clean, without a single warning
run "$FLOWC" check --werror --color=never examples/
expect_status 0 "flowc check --werror examples/"
expect_empty out "flowc check examples/"
expect_empty err "flowc check examples/"

# 2. at least five examples, each with a sample input beside it
count=0
for f in examples/*/*.flow; do
  count=$((count + 1))
  input="${f%.flow}.input.jsonl"
  if [ -s "$input" ]; then pass; else fails=$((fails + 1)); echo "FAIL: $f has no sample input $input"; fi
done
if [ "$count" -ge 5 ]; then pass; else fails=$((fails + 1)); echo "FAIL: expected at least 5 examples, found $count"; fi

# 3. a misspelled field in a copy of an example
cp -R examples/support "$TMP/support"
sed 's/{{ t.subject }}/{{ t.subjet }}/' examples/support/triage.flow >"$TMP/support/triage.flow"
cd "$TMP" || exit 2
run "$FLOWC" check --color=never support/triage.flow
expect_status 1 "misspelled field"
expect_contains err "error[E0106]: record \`Ticket\` has no field \`subjet\`" "misspelled field: message"
expect_contains err "= help: did you mean \`subject\`?" "misspelled field: did you mean"
expect_contains err " --> support/triage.flow:117:19" "misspelled field: location"
# the caret row starts exactly under the misspelled name in the source row
caret_ok=$(awk '
  /^ *[0-9]+ \|.*t\.subjet/ { src = $0; next }
  src != "" && /\^/ { print (index($0, "^") == index(src, "subjet")) ? "yes" : "no"; exit }
' "$TMP/err")
if [ "$caret_ok" = yes ]; then pass; else fails=$((fails + 1)); echo "FAIL: carets are not under \`subjet\`"; sed 's/^/  /' "$TMP/err"; fi

# 4. the same as SARIF 2.1.0 for code review
run "$FLOWC" check --format sarif support/triage.flow
expect_status 1 "misspelled field, sarif"
cp "$TMP/out" typo.sarif
expect_ok "sarif of the misspelled field is valid SARIF 2.1.0" "$PYTHON" "$ROOT/tests/cli/validate.py" sarif typo.sarif 3

finish
