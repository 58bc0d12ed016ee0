# build.sh - `flowc build`: a program becomes a standalone executable that
# runs alone in an empty folder (the executable is all it needs besides its
# inputs), takes flowc run's flags, prints --help from main's signature and
# doc comments and --version with the program's content hash; context files
# are built in (--root reads others); --emit-llvm
# and --emit-obj write the IR and the object file. Equivalence: every
# example gives byte-identical output, errors and logical trace under the VM
# (flowc run) and as an executable run alone in an empty folder (its context
# files are built in), with the mock provider and with a replayed cassette
# (reading the files from --root instead).
# Usage: sh build.sh FLOWC REPO_ROOT
. "$(dirname "$0")/../cli/lib.sh" "$1"
ROOT=$(cd "${2:?usage: sh build.sh FLOWC REPO_ROOT}" && pwd)
FLOWC=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")
cd "$TMP" || exit 2

# a program without contexts, built here and run alone in an empty folder
cat > hello.flow <<'FLOW'
model m { provider: mock, name: "mock-1", max_tokens: 50 }
type Person {
  /// Their name, as they like to be greeted.
  name: string
}
prompt greet(p: Person) -> string {
  model: m
  user "Greet {{ p.name }}."
}
/// Greets each person, one greeting per input line.
flow main(
  /// Who to greet.
  person: Person
) -> string {
  yield greet(person)
}
FLOW
printf '{"name":"Ada"}\n{"name":"Grace"}\n' > people.jsonl
run "$FLOWC" build hello.flow -o hello
expect_status 0 "flowc build"
expect_empty err "a clean build prints nothing"
mkdir empty
cp hello empty/
cp people.jsonl empty/
(cd empty && ./hello --mock --input people.jsonl > out.txt 2> err.txt; echo $? > status.txt)
run "$FLOWC" run hello.flow --mock --input people.jsonl
if [ "$(cat empty/status.txt)" = 0 ] && cmp -s "$TMP/out" empty/out.txt; then pass; else
  fail "the executable alone in an empty folder gives what flowc run gives"; cat empty/err.txt; fi

run ./hello --help
expect_status 0 "--help"
expect_contains out "hello - Greets each person, one greeting per input line." "--help starts with main's doc comment"
expect_contains out "Usage: hello [OPTIONS] --input ITEMS.jsonl" "--help gives the usage"
expect_contains out "person           an object (Person): Who to greet." "--help describes main's parameter"
expect_contains out "--replay CASSETTE" "--help lists the run flags"
run ./hello --version
expect_status 0 "--version"
if grep -Eq '^hello [0-9a-f]{64} \(built by flowc [0-9.]+\)$' "$TMP/out"; then pass; else fail "--version gives the content hash and flowc's version"; fi
"$FLOWC" build hello.flow -o hello2 && ./hello2 --version > v2.txt
run ./hello --version
if [ "$(sed 's/^hello2 /hello /' v2.txt)" = "$(cat "$TMP/out")" ]; then pass; else fail "two builds of one program have one content hash"; fi
run ./hello --frobnicate
expect_status 2 "an unknown flag"
expect_contains err "hello: error: unknown option '--frobnicate' for 'hello'" "the executable names itself in errors"
run ./hello --concurrency 0 --input people.jsonl
expect_status 2 "a bad flag value"
expect_contains err "--concurrency expects 1 to 100000, found 0" "run flags are checked as by flowc run"

# context files are built in; --root reads the folder's instead
mkdir ctx
printf 'Be brief.\n' > ctx/rules.md
cat > ctx/c.flow <<'FLOW'
context rules: string = file("rules.md")
flow main(x: int) -> string { yield trim(rules) }
FLOW
printf '1\n' > ctx/one.jsonl
run "$FLOWC" build ctx/c.flow -o ctx/c
expect_status 0 "building a program with a context"
printf 'Be kind.\n' > ctx/rules.md
run ctx/c --input ctx/one.jsonl
expect_equals out '"Be brief."' "the built-in copy of the context file is read"
run ctx/c --input ctx/one.jsonl --root ctx
expect_equals out '"Be kind."' "--root reads the folder's file instead"
rm ctx/rules.md
# a symlink leading out of the project passes the checker but is refused when read
ln -s /etc/hostname ctx/outside.md
printf 'context rules: string = file("outside.md")\nflow main(x: int) -> string { yield rules }\n' > ctx/d.flow
run "$FLOWC" build ctx/d.flow -o ctx/d
expect_status 2 "building when a context file cannot be read"
expect_contains err "the files of context \`rules\` must be readable to be built in" "the context is named"

# --emit-llvm and --emit-obj
run "$FLOWC" build --emit-llvm hello.flow -o hello.ll
expect_status 0 "--emit-llvm"
if grep -q '^define .*i32 @main(' hello.ll && grep -q '@flow_image = private unnamed_addr constant' hello.ll; then pass; else
  fail "the IR has main and the program's image"; fi
run "$FLOWC" build --emit-obj hello.flow
expect_status 0 "--emit-obj"
if [ "$(head -c 4 hello.o | od -An -c | tr -d ' ')" = "177ELF" ]; then pass; else fail "--emit-obj writes an ELF object (hello.o)"; fi
run "$FLOWC" build --emit-llvm --emit-obj hello.flow
expect_status 2 "--emit-llvm with --emit-obj"
printf 'flow helper(x: int) -> int { yield x }\n' > nomain.flow
run "$FLOWC" build nomain.flow
expect_status 1 "a program without main"
expect_contains err "the program has no \`flow main\`" "a program without main is refused"

# equivalence: every example, VM against executable, mock and replay
for flow in "$ROOT"/examples/*/*.flow; do
  name=$(basename "$flow" .flow)
  dir=$(dirname "$flow")
  input="$dir/$name.input.jsonl"
  [ -f "$input" ] || continue
  run "$FLOWC" build "$flow" -o "$name.exe"
  expect_status 0 "building $name"
  # from the example's folder, so messages name the file as the executable does
  (cd "$dir" && "$FLOWC" run "$name.flow" --mock --keep-going --input "$input" --trace "$TMP/vm.$name.trace" \
    --errors "$TMP/vm.$name.err" --record "$TMP/$name.cassette" > "$TMP/vm.$name.out" 2>/dev/null)
  # alone in an empty folder: its context files are built in
  mkdir "alone.$name" && cp "$name.exe" "alone.$name/"
  (cd "alone.$name" && ./"$name.exe" --mock --keep-going --input "$input" --trace "../x.$name.trace" \
    --errors "../x.$name.err" > "../x.$name.out" 2>/dev/null)
  if cmp -s "vm.$name.out" "x.$name.out" && cmp -s "vm.$name.trace" "x.$name.trace" && \
     cmp -s "vm.$name.err" "x.$name.err" && [ -s "vm.$name.trace" ]; then pass; else
    fail "$name: the executable's output, errors or trace differ from flowc run's (mock)"; fi
  (cd "$dir" && "$FLOWC" run "$name.flow" --replay "$TMP/$name.cassette" --keep-going --input "$input" \
    --trace "$TMP/vmr.$name.trace" > "$TMP/vmr.$name.out" 2>/dev/null)
  (cd "$dir" && "$TMP/$name.exe" --root . --replay "$TMP/$name.cassette" --keep-going --input "$input" \
    --trace "$TMP/xr.$name.trace" > "$TMP/xr.$name.out" 2>/dev/null)
  if cmp -s "vmr.$name.out" "xr.$name.out" && cmp -s "vmr.$name.trace" "xr.$name.trace" && [ -s "vmr.$name.trace" ]; then
    pass; else fail "$name: the executable's replay differs from flowc run's"; fi
done
# the VM's runnable test programs (tests/vm/cases): output, errors, trace and
# exit status the same under the VM and as an executable alone in a folder
for flow in "$ROOT"/tests/vm/cases/*.flow; do
  name=$(basename "$flow" .flow)
  dir=$(dirname "$flow")
  in="$dir/$name.input.jsonl"
  set -- --mock --keep-going
  [ -f "$in" ] && set -- "$@" --input "$in"
  run "$FLOWC" build "$flow" -o "case.$name"
  expect_status 0 "building tests/vm/cases/$name"
  (cd "$dir" && "$FLOWC" run "$name.flow" "$@" --trace "$TMP/cvm.$name.trace" --errors "$TMP/cvm.$name.err" \
    > "$TMP/cvm.$name.out" 2>/dev/null; echo $? > "$TMP/cvm.$name.status")
  mkdir "calone.$name" && cp "case.$name" "calone.$name/"
  (cd "calone.$name" && ./"case.$name" "$@" --trace "$TMP/cx.$name.trace" --errors "$TMP/cx.$name.err" \
    > "$TMP/cx.$name.out" 2>/dev/null; echo $? > "$TMP/cx.$name.status")
  same=true
  for part in out err trace status; do cmp -s "cvm.$name.$part" "cx.$name.$part" || same=false; done
  if $same; then pass; else fail "tests/vm/cases/$name: the executable differs from flowc run"; fi
done
finish
