#!/bin/sh
# run_golden.sh - golden tests for `flowc check` diagnostics.
#
# Usage: run_golden.sh FLOWC REPO_ROOT [--bless]
#
# Every tests/check/*.flow is a case (tests/check/lib/ holds helper files that
# cases import; they are not cases themselves). The runner works from
# REPO_ROOT, so the paths printed in diagnostics are relative and stable. For
# each case it runs
#     flowc check --color=never tests/check/NAME.flow
# and compares its stderr, followed by a line "exit: N", with NAME.expected.
#
# Extra rules, checked on the actual output (also when blessing):
#   - a case named after a code (E0101_foo.flow, W0408_bar.flow) must report
#     that code, i.e. its output contains "[E0101]";
#   - a case named ok_*.flow must be clean: exit 0, no error or warning;
#   - flowc must never crash (exit status 128 or more).
# With --bless, .expected files are rewritten from the actual output, except
# for cases that break one of these rules. Review blessed files before
# committing them.
#
# Prints a diff for each mismatch and a closing "N passed, M failed" line;
# exits 1 if any case failed.

set -u

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 FLOWC REPO_ROOT [--bless]" >&2
  exit 2
fi
FLOWC=$1
ROOT=$2
BLESS=0
if [ $# -eq 3 ]; then
  if [ "$3" = "--bless" ]; then
    BLESS=1
  else
    echo "unknown option: $3" >&2
    exit 2
  fi
fi
case $FLOWC in /*) ;; *) FLOWC=$(pwd)/$FLOWC ;; esac
if [ ! -x "$FLOWC" ]; then
  echo "flowc not found or not executable: $FLOWC" >&2
  exit 2
fi
cd "$ROOT" || exit 2

TMP=$(mktemp -d "${TMPDIR:-/tmp}/flow-golden.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM

# Stable output whatever the caller's environment.
LC_ALL=C
NO_COLOR=1
export LC_ALL NO_COLOR

passed=0
failed=0
blessed=0

for case in tests/check/*.flow; do
  [ -f "$case" ] || continue
  name=$(basename "$case" .flow)
  expected=tests/check/$name.expected
  actual=$TMP/$name.actual

  "$FLOWC" check --color=never "$case" >/dev/null 2>"$TMP/stderr"
  rc=$?
  { cat "$TMP/stderr"; echo "exit: $rc"; } >"$actual"

  # Rules that hold whatever the expected file says.
  bad=""
  if [ "$rc" -ge 128 ]; then
    bad="flowc crashed (exit $rc)"
  fi
  code=$(echo "$name" | sed -n 's/^\([EW][0-9][0-9][0-9][0-9]\)_.*/\1/p')
  if [ -z "$bad" ] && [ -n "$code" ] && ! grep -q "\[$code\]" "$TMP/stderr"; then
    bad="the case is named after $code but the output does not contain [$code]"
  fi
  case $name in
    ok_*)
      if [ -z "$bad" ] && { [ "$rc" -ne 0 ] || grep -q -e 'error\[' -e 'warning\[' "$TMP/stderr"; }; then
        bad="an ok_ case must check clean (exit 0, no errors or warnings)"
      fi
      ;;
  esac

  if [ -n "$bad" ]; then
    echo "FAIL $case: $bad"
    sed 's/^/    /' "$actual"
    failed=$((failed + 1))
    continue
  fi

  if [ $BLESS = 1 ]; then
    if [ ! -f "$expected" ] || ! cmp -s "$expected" "$actual"; then
      cp "$actual" "$expected"
      echo "blessed $expected"
      blessed=$((blessed + 1))
    fi
    passed=$((passed + 1))
    continue
  fi

  if [ ! -f "$expected" ]; then
    echo "FAIL $case: no $expected (run with --bless after reviewing the output)"
    sed 's/^/    /' "$actual"
    failed=$((failed + 1))
  elif cmp -s "$expected" "$actual"; then
    passed=$((passed + 1))
  else
    echo "FAIL $case: output differs from $expected"
    diff -u "$expected" "$actual" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
done

# An .expected file whose case is gone is stale.
for expected in tests/check/*.expected; do
  [ -f "$expected" ] || continue
  if [ ! -f "${expected%.expected}.flow" ]; then
    echo "FAIL $expected: no matching .flow case"
    failed=$((failed + 1))
  fi
done

if [ $BLESS = 1 ]; then
  echo "($blessed expected files written)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
