# ir_golden.sh - golden LLVM IR of a few small programs (tests/build/ir/*.flow
# against *.ll.expected): `flowc build --emit-llvm` output after LLVM's -O2,
# normalised: the module's header lines (target triple, data layout, source
# name), attributes and metadata are dropped, and the program's image (its
# bytecode, which changes with the bytecode format) and its length are
# replaced by placeholders. `--bless` rewrites the expected files.
# Usage: sh ir_golden.sh FLOWC REPO_ROOT [--bless]
. "$(dirname "$0")/../cli/lib.sh" "$1"
ROOT=$(cd "${2:?usage: sh ir_golden.sh FLOWC REPO_ROOT [--bless]}" && pwd)
BLESS=${3:-}
normalise() {
  sed -e '/^; ModuleID/d' -e '/^source_filename/d' -e '/^target /d' -e '/^attributes #/d' -e '/^!/d' \
      -e 's/^@flow_image = .*/@flow_image = <the program image>/' \
      -e 's/i64 [0-9][0-9]*, i8\*\* getelementptr/i64 <image length>, i8** getelementptr/' \
      -e 's/\[[0-9][0-9]* x i8\]/[<image length> x i8]/g' -e 's/ #[0-9][0-9]*//g' "$1"
}
for flow in "$ROOT"/tests/build/ir/*.flow; do
  name=$(basename "$flow" .flow)
  run "$FLOWC" build --emit-llvm "$flow" -o "$TMP/$name.ll"
  expect_status 0 "building $name"
  normalise "$TMP/$name.ll" > "$TMP/$name.norm"
  want="$ROOT/tests/build/ir/$name.ll.expected"
  if [ "$BLESS" = "--bless" ]; then
    cp "$TMP/$name.norm" "$want"
    echo "blessed $want"
    pass
  elif cmp -s "$TMP/$name.norm" "$want"; then
    pass
  else
    fails=$((fails + 1))
    echo "FAIL: $name: the IR differs from $want"
    diff "$want" "$TMP/$name.norm" | head -40
  fi
done
finish
