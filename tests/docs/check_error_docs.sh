#!/bin/sh
# check_error_docs.sh - every diagnostic code has a correct explanation page.
#
# Usage: check_error_docs.sh FLOWC REPO_ROOT
#
# For every code in compiler/diag_codes.def, docs/errors/CODE.md must exist,
# start with the heading "# CODE: title" (title as in the table), and have a
# "## Wrong" and a "## Right" section. When their first fenced block is a
# ```flow block, it is checked with `flowc check`:
#   - Wrong: the output must contain "[CODE]";
#   - Right: the output must contain no "error[" and flowc must exit 0.
# Blocks in another language (```sh, for E0702) are not run.
#
# A block may hold several files: a line "// file: NAME" starts file NAME
# (relative, may contain directories); the first file is the one checked.
# A block with no such line is one file, main.flow.
#
# Pages in docs/errors/ for codes that are not in the table also fail.
# Prints one line per problem and a closing "N passed, M failed"; exits 1 if
# anything failed.

set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 FLOWC REPO_ROOT" >&2
  exit 2
fi
FLOWC=$1
ROOT=$2
case $FLOWC in /*) ;; *) FLOWC=$(pwd)/$FLOWC ;; esac
if [ ! -x "$FLOWC" ]; then
  echo "flowc not found or not executable: $FLOWC" >&2
  exit 2
fi
DEF=$ROOT/compiler/diag_codes.def
DOCS=$ROOT/docs/errors
if [ ! -f "$DEF" ]; then
  echo "no diagnostic table at $DEF" >&2
  exit 2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/flow-errdocs.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM

passed=0
failed=0

# The table, as "CODE<TAB>title" lines.
sed -n 's/^X([A-Z0-9_]*, *"\([EW][0-9]*\)", *[A-Z]*, *"\(.*\)")[[:space:]]*$/\1	\2/p' \
  "$DEF" >"$TMP/codes"
if [ ! -s "$TMP/codes" ]; then
  echo "no codes found in $DEF" >&2
  exit 2
fi

# extract PAGE SECTION OUT: write the first fenced block after "## SECTION"
# to OUT and print its language tag (empty if there is no such block).
extract() {
  awk -v want="## $2" -v out="$3" '
    $0 == want { insec = 1; next }
    insec && !inblk && /^## / { exit }
    insec && !inblk && /^```/ { inblk = 1; lang = substr($0, 4); printf "" > out; next }
    inblk && /^```[[:space:]]*$/ { done = 1; exit }
    inblk { print > out }
    END { if (inblk) print lang }
  ' "$1"
}

# materialize BLOCK DIR: split BLOCK into files under DIR; print the root
# file's name.
materialize() {
  awk -v dir="$2" '
    BEGIN { name = "main.flow"; root = "" }
    /^\/\/ file: [^ ]+[[:space:]]*$/ {
      if (cur != "") close(cur)
      name = $3
      cur = dir "/" name
      d = cur; sub(/\/[^\/]*$/, "", d)
      system("mkdir -p \"" d "\"")
      printf "" > cur
      if (root == "") root = name
      next
    }
    {
      if (cur == "") {
        if ($0 ~ /^[[:space:]]*$/ && root == "") next   # blank lines before a first marker
        cur = dir "/" name; printf "" > cur
        if (root == "") root = name
      }
      print > cur
    }
    END { print (root == "" ? "main.flow" : root) }
  ' "$1"
}

# run_block BLOCK: check the program in BLOCK; output in $TMP/out, exit
# status in $rc.
run_block() {
  rm -rf "$TMP/prog"
  mkdir "$TMP/prog"
  rootf=$(materialize "$1" "$TMP/prog")
  (cd "$TMP/prog" && "$FLOWC" check --color=never "$rootf") >"$TMP/out" 2>&1
  rc=$?
}

while IFS='	' read -r code title; do
  page=$DOCS/$code.md
  ok=1
  problems=""
  if [ ! -f "$page" ]; then
    echo "FAIL $code: docs/errors/$code.md is missing"
    failed=$((failed + 1))
    continue
  fi
  first=$(head -n 1 "$page")
  if [ "$first" != "# $code: $title" ]; then
    echo "FAIL $code: heading is \"$first\", expected \"# $code: $title\""
    ok=0
  fi
  for section in Wrong Right; do
    lang=$(extract "$page" "$section" "$TMP/block")
    if [ -z "$lang" ] && [ ! -f "$TMP/block" ]; then
      echo "FAIL $code: no fenced block under \"## $section\""
      ok=0
      continue
    fi
    if [ "$lang" != "flow" ]; then
      rm -f "$TMP/block"
      continue        # prose/shell example, not a program
    fi
    run_block "$TMP/block"
    rm -f "$TMP/block"
    if [ "$rc" -ge 128 ]; then
      echo "FAIL $code: flowc crashed (exit $rc) on the $section example:"
      sed 's/^/    /' "$TMP/out"
      ok=0
    elif [ "$section" = Wrong ]; then
      if ! grep -q "\[$code\]" "$TMP/out"; then
        echo "FAIL $code: the Wrong example does not report [$code]; flowc said:"
        sed 's/^/    /' "$TMP/out"
        ok=0
      fi
    else
      if grep -q "error\[" "$TMP/out" || [ "$rc" -ne 0 ]; then
        echo "FAIL $code: the Right example is not clean (exit $rc); flowc said:"
        sed 's/^/    /' "$TMP/out"
        ok=0
      fi
    fi
  done
  if [ $ok = 1 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done <"$TMP/codes"

# Pages for codes that are not in the table.
for page in "$DOCS"/*.md; do
  [ -f "$page" ] || continue
  base=$(basename "$page" .md)
  if ! cut -f1 "$TMP/codes" | grep -qx "$base"; then
    echo "FAIL docs/errors/$base.md: no such code in compiler/diag_codes.def"
    failed=$((failed + 1))
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
