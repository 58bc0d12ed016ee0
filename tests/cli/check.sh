# check.sh - flowc check in text format: clean files, errors, warnings,
# --werror, directories and exit statuses.
. "$(dirname "$0")/lib.sh" "$@"

cd "$TMP" || exit 2
printf '%s\n' "$CLEAN_PROGRAM" >clean.flow
printf '%s\n' "$ERROR_PROGRAM" >error.flow
printf '%s\n' "$WARNING_PROGRAM" >warning.flow

run "$FLOWC" check clean.flow
expect_status 0 "check a clean file"
expect_empty out "check a clean file"
expect_empty err "check a clean file"

run "$FLOWC" check error.flow
expect_status 1 "check a file with an error"
expect_empty out "text diagnostics go to stderr"
expect_contains err "error[E0106]" "check a file with an error"
expect_contains err " --> error.flow:2:" "check a file with an error"
expect_contains err "aborting due to 1 previous error" "check a file with an error"
if grep -q "$(printf '\033')" "$TMP/err"; then fail "no colour when stderr is not a terminal"; else pass; fi

run "$FLOWC" check --color always error.flow
expect_status 1 "--color always"
if grep -q "$(printf '\033')\[1;31merror" "$TMP/err"; then pass; else fail "--color always: expected ANSI colour"; fi

run "$FLOWC" check --color never error.flow
if grep -q "$(printf '\033')" "$TMP/err"; then fail "--color never: expected no colour"; else pass; fi

run "$FLOWC" check warning.flow
expect_status 0 "warnings only"
expect_contains err "warning[W0408]" "warnings only"
expect_contains err "warning: 1 warning emitted" "warnings only"

run "$FLOWC" check --werror warning.flow
expect_status 1 "--werror with a warning"
expect_contains err "(--werror)" "--werror with a warning"

run "$FLOWC" check --werror clean.flow
expect_status 0 "--werror on a clean file"

# Several files: one summary counting everything.
run "$FLOWC" check clean.flow error.flow warning.flow
expect_status 1 "several files"
expect_contains err "aborting due to 1 previous error; 1 warning emitted" "several files"

# A missing path is an I/O error even next to good files, and nothing is checked.
run "$FLOWC" check clean.flow nope.flow
expect_status 2 "a missing path among others"
expect_equals err "error[E0702]: cannot read \`nope.flow\`: No such file or directory" "a missing path among others"

# Directories: recursive, sorted, hidden entries and other extensions skipped.
mkdir -p proj/b proj/a proj/.hidden
cp error.flow proj/b/z.flow
cp error.flow proj/a/y.flow
cp error.flow proj/.hidden/x.flow
cp error.flow proj/.dot.flow
cp error.flow proj/notes.txt
cp clean.flow proj/c.flow
run "$FLOWC" check proj
expect_status 1 "check a directory"
grep -- '-->' "$TMP/err" | sed 's/:[0-9]*:[0-9]*$//' >"$TMP/files"
printf ' --> proj/a/y.flow\n --> proj/b/z.flow\n' >"$TMP/want_files"
cmp -s "$TMP/files" "$TMP/want_files" && pass || fail "check a directory: expected proj/a/y.flow then proj/b/z.flow only"

run "$FLOWC" check proj/
expect_status 1 "check a directory given with a slash"
expect_contains err " --> proj/a/y.flow" "a trailing slash is not doubled"

finish
