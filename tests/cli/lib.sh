# lib.sh - helpers shared by the CLI test scripts (sourced, not run).
# Usage in a script:  . "$(dirname "$0")/lib.sh" "$@"
# Sets FLOWC (the binary under test), HERE (this directory), TMP (a scratch
# directory removed on exit). `run CMD...` captures stdout in $TMP/out,
# stderr in $TMP/err and the exit status in $status; the expect_* helpers
# record one pass or failure each, and `finish` prints the tally
# "N passed, M failed" and exits non-zero on any failure.

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
  echo "usage: sh $0 PATH/TO/flowc (expected an executable, found '${1:-nothing}')" >&2
  exit 2
fi
FLOWC=$1
HERE=$(cd "$(dirname "$0")" && pwd)
PYTHON=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passes=0
fails=0

run() {
  "$@" >"$TMP/out" 2>"$TMP/err"
  status=$?
}

pass() { passes=$((passes + 1)); }

# fail WHAT: record a failure and show what the last command printed.
fail() {
  fails=$((fails + 1))
  echo "FAIL: $1"
  echo "  --- stdout ---"; sed 's/^/  /' "$TMP/out"
  echo "  --- stderr ---"; sed 's/^/  /' "$TMP/err"
}

# expect_status N WHAT
expect_status() {
  if [ "$status" -eq "$1" ]; then pass; else fail "$2: expected exit status $1, found $status"; fi
}

# expect_empty out|err WHAT
expect_empty() {
  if [ ! -s "$TMP/$1" ]; then pass; else fail "$2: expected empty std$1"; fi
}

# expect_quiet WHAT: stderr holds nothing but the table of model calls that
# ends a run which made some (docs/running.md, "Summary and progress")
expect_quiet() {
  awk '/^[^ ].*: model calls$/ { t = 1; next } t && /^  / { next } { t = 0; print }' "$TMP/err" > "$TMP/rest"
  if [ ! -s "$TMP/rest" ]; then pass; else fail "$1: expected nothing on stderr but the table of model calls"; fi
}

# expect_contains out|err TEXT WHAT  (fixed string)
expect_contains() {
  if grep -qF -- "$2" "$TMP/$1"; then pass; else fail "$3: expected std$1 to contain '$2'"; fi
}

# expect_equals out|err TEXT WHAT  (whole stream, exactly)
expect_equals() {
  printf '%s\n' "$2" >"$TMP/want"
  if cmp -s "$TMP/want" "$TMP/$1"; then pass; else fail "$3: expected std$1 to be exactly '$2'"; fi
}

# expect_python WHAT CMD...: a command (typically a validator) must succeed.
expect_ok() {
  what=$1
  shift
  if "$@" >"$TMP/check" 2>&1; then pass; else fails=$((fails + 1)); echo "FAIL: $what"; sed 's/^/  /' "$TMP/check"; fi
}

finish() {
  echo "$passes passed, $fails failed"
  [ "$fails" -eq 0 ]
  exit $?
}

# The programs the check tests use (language.md examples).
CLEAN_PROGRAM='type T { a: string }
flow main(x: T) -> string { yield x.a }'
ERROR_PROGRAM='type T { a: string }
flow main(x: T) -> string { yield x.b }'
WARNING_PROGRAM='type T { a: string }
flow main(x: T) -> string {
  let unused = 1
  yield x.a
}'

# same_logical A B: files A and B are byte-identical once each trace line's
# timing fields (start_ms, end_ms: the only fields that vary with
# scheduling, docs/determinism.md) are removed.
logical_trace() { sed -E 's/,"start_ms":[^,]*,"end_ms":[^,}]*\}$/}/' "$1"; }
same_logical() {
  logical_trace "$1" > "$TMP/.logical.a"
  logical_trace "$2" > "$TMP/.logical.b"
  cmp -s "$TMP/.logical.a" "$TMP/.logical.b"
}
