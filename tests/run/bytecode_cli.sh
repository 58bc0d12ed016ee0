# bytecode_cli.sh - flowc compile writes bytecode that runs like the source;
# a truncated, corrupted or foreign file is refused with a clear error and
# exit status 2, never executed.
# Usage: sh bytecode_cli.sh FLOWC REPO_ROOT
. "$(dirname "$0")/../cli/lib.sh" "$1"
FLOWC=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")
ROOT=$(cd "${2:?usage: sh bytecode_cli.sh FLOWC REPO_ROOT}" && pwd)
cd "$TMP" || exit 2

for flow in "$ROOT"/examples/*/*.flow; do
  name=$(basename "$flow" .flow)
  input="${flow%.flow}.input.jsonl"
  run "$FLOWC" compile -o "$name.flowbc" "$flow"
  expect_status 0 "compile $name"
  "$FLOWC" run "$flow" --mock --keep-going --input "$input" --output a.out 2>/dev/null
  "$FLOWC" run "$name.flowbc" --root "$(dirname "$flow")" --mock --keep-going --input "$input" --output b.out 2>/dev/null
  if cmp -s a.out b.out; then pass; else fails=$((fails + 1)); echo "FAIL: $name.flowbc runs differently from $name.flow"; fi
  run "$FLOWC" disasm "$name.flowbc"
  expect_status 0 "disasm $name"
  expect_contains out "flow main" "disasm $name lists main"
done

size=$(wc -c < qa.flowbc)
head -c $((size / 2)) qa.flowbc > truncated.flowbc
run "$FLOWC" run truncated.flowbc --mock --input "$ROOT/examples/qa/qa.input.jsonl"
expect_status 2 "truncated bytecode is refused"
expect_contains err "cannot load" "truncated bytecode: message"

cp qa.flowbc corrupt.flowbc
printf 'X' | dd of=corrupt.flowbc bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
run "$FLOWC" run corrupt.flowbc --mock --input "$ROOT/examples/qa/qa.input.jsonl"
expect_status 2 "corrupted bytecode is refused"

# the version id does not depend on where the project is or how it is named
mkdir -p elsewhere && cp -R "$ROOT/examples/qa" elsewhere/
"$FLOWC" compile -o moved.flowbc elsewhere/qa/qa.flow
(cd elsewhere/qa && "$FLOWC" compile -o ../../here.flowbc qa.flow)
if cmp -s moved.flowbc qa.flowbc && cmp -s here.flowbc qa.flowbc; then pass; else fails=$((fails + 1)); echo "FAIL: the bytecode depends on the project's location"; fi

printf 'not bytecode at all' > foreign.flowbc
run "$FLOWC" run foreign.flowbc --mock
expect_status 2 "a foreign file is refused"
finish
