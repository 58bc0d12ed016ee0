#!/bin/sh
# exit_status.sh - process-level robustness: `flowc check` on broken files
# exits 0 (clean) or 1 (errors found), never crashes, hangs or reports 2.
#
# Copies the corpus (ROOT/examples and ROOT/tests/robustness/seed_corpus) to a
# temporary directory and writes COUNT seeded mutants beside their originals
# there (truncations, flipped bytes, deleted/duplicated spans, inserted
# delimiters, NUL and 0xFF bytes, deep nesting), so imports and context paths
# still resolve. Each mutant is checked under `timeout 10`; status 0 or 1
# passes, anything else (2, a signal, a timeout) fails. A failing mutant is
# kept in KEEP_DIR (default /tmp/flow-exit-status-failures) for reproduction.
#
# usage: exit_status.sh FLOWC ROOT [COUNT] [SEED]
set -u

if [ $# -lt 2 ]; then
  echo "usage: exit_status.sh FLOWC ROOT [COUNT] [SEED]" >&2
  exit 2
fi
FLOWC=$1
ROOT=$2
COUNT=${3:-200}
SEED=${4:-1}
KEEP_DIR=${KEEP_DIR:-/tmp/flow-exit-status-failures}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

if [ ! -x "$FLOWC" ]; then
  echo "exit_status: no flowc at $FLOWC" >&2
  exit 2
fi

# In a sanitizer build a report must not pass for "exit status 1".
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=87"
export ASAN_OPTIONS UBSAN_OPTIONS

work=$(mktemp -d "${TMPDIR:-/tmp}/flow-exit-status.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT INT TERM

for sub in examples tests/robustness/seed_corpus; do
  if [ -d "$ROOT/$sub" ]; then
    mkdir -p "$work/$sub"
    cp -R "$ROOT/$sub/." "$work/$sub/"
  fi
done

# Write the mutants; print their paths, one per line.
"$PY" - "$work" "$COUNT" "$SEED" > "$work/.mutants" <<'EOF'
import os, random, sys

work, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sources = []
for dirpath, dirnames, filenames in os.walk(work):
    dirnames.sort()
    for name in sorted(filenames):
        if name.endswith(".flow"):
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                sources.append((path, f.read()))
if not sources:
    sys.exit("exit_status: no .flow files in the corpus")

r = random.Random(seed)
SNIPPETS = [b"{", b"}", b"(", b")", b"[", b"]", b'"', b'"""', b"{{", b"}}", b"\\", b"\\u{",
            b"/*", b"//", b"\n", b"@describe(", b"?", b"map<", b"->", b"=>", b"..", b"??",
            b"1e999999", b"0.15 per", b"8xs", b"let ", b"yield ", b"for ", b"match ",
            b"ensure ", b"retry ", b"model ", b"type ", b"prompt ", b"flow ", b"test ",
            b"mock ", b"import \"missing.flow\"\n", b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf"]

def span(data):
    if not data:
        return 0, 0
    at = r.randrange(len(data))
    s, e = at, at + 1
    word = lambda c: chr(c).isalnum() or c == 95
    if word(data[at]):
        while s > 0 and word(data[s - 1]):
            s -= 1
        while e < len(data) and word(data[e]):
            e += 1
    else:
        e = min(len(data), at + 1 + r.randrange(3))
    return s, e

def mutate(data):
    data = bytearray(data)
    op = r.randrange(7)
    at = r.randrange(len(data) + 1)
    if op == 0 and data:
        i = r.randrange(len(data))
        data[i] ^= 1 << r.randrange(8)
    elif op == 1:
        s, e = span(data)
        del data[s:e]
    elif op == 2:
        s, e = span(data)
        data[e:e] = data[s:e]
    elif op == 3:
        s, e = span(data)
        data[at:at] = data[s:e]
    elif op == 4:
        data[at:at] = r.choice(SNIPPETS)
    elif op == 5:
        opener, closer = r.choice([(b"(", b")"), (b"[", b"]"), (b"{", b"}"), (b"not ", b""), (b"{{ (", b") }}")])
        depth = r.choice([100, 1000, 10000])
        data[at:at] = opener * depth + b"1" + (closer * depth if r.random() < 0.5 else b"")
    else:
        s, e = span(data)
        data[s:e] = r.choice(SNIPPETS)
    return bytes(data)

for i in range(count):
    path, data = sources[i % len(sources)]
    if i % 3 == 0:
        out = data[: r.randrange(len(data) + 1)]
    else:
        out = data
        for _ in range(1 + (r.randrange(4) == 0) * r.randrange(1, 4)):
            out = mutate(out)
    mpath = "%s.mut%03d.flow" % (path[: -len(".flow")], i)
    with open(mpath, "wb") as f:
        f.write(out)
    print(mpath)
EOF
[ $? -eq 0 ] || { echo "exit_status: could not write the mutants" >&2; exit 2; }

passed=0
failed=0
while IFS= read -r file; do
  timeout 10 "$FLOWC" check "$file" </dev/null >/dev/null 2>&1
  status=$?
  case $status in
    0|1) passed=$((passed + 1)) ;;
    *)
      failed=$((failed + 1))
      case $status in
        124) why="timed out after 10 s" ;;
        2) why="exit status 2 (file is readable)" ;;
        86|87) why="sanitizer report (exit status $status)" ;;
        *) why="exit status $status" ;;
      esac
      mkdir -p "$KEEP_DIR"
      kept="$KEEP_DIR/$(echo "${file#"$work"/}" | tr / _)"
      cp "$file" "$kept"
      echo "FAIL: ${file#"$work"/}: $why (input kept as $kept; put it beside the original to reproduce)"
      ;;
  esac
done < "$work/.mutants"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
