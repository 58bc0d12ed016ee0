# explain.sh - flowc explain: the embedded error explanations.
. "$(dirname "$0")/lib.sh" "$@"

run "$FLOWC" explain E0101
expect_status 0 "explain E0101"
expect_contains out "E0101" "explain E0101"
expect_empty err "explain E0101"
cmp -s "$TMP/out" "$HERE/../../docs/errors/E0101.md" && pass || fail "explain E0101 prints docs/errors/E0101.md verbatim"

run "$FLOWC" explain e0101
expect_status 0 "explain accepts a lower-case code"

run "$FLOWC" explain E9999
expect_status 2 "explain an unknown code"
expect_equals err "flowc: error: unknown error code 'E9999'; expected a code like E0101 (see \`flowc explain --list\`)" "explain an unknown code"
expect_empty out "explain an unknown code"

run "$FLOWC" explain
expect_status 2 "explain without a code"
expect_contains err "expects an error code such as E0101, found nothing" "explain without a code"

run "$FLOWC" explain E0101 E0102
expect_status 2 "explain with two codes"
expect_contains err "found 2 arguments" "explain with two codes"

run "$FLOWC" explain --list
expect_status 0 "explain --list"
expect_contains out "E0101  unknown name" "explain --list"
expect_contains out "W0408  unused local value" "explain --list"
# One line per code in diag_codes.def.
want=$(grep -c '^X(' "$HERE/../../compiler/diag_codes.def")
got=$(wc -l <"$TMP/out" | tr -d ' ')
[ "$want" = "$got" ] && pass || fail "explain --list: expected $want lines, found $got"

# Every code of the table has an explanation built in.
for code in $(sed -n 's/^X([A-Z0-9]*, "\([EW][0-9]*\)".*/\1/p' "$HERE/../../compiler/diag_codes.def"); do
  run "$FLOWC" explain "$code"
  expect_status 0 "explain $code"
done

finish
