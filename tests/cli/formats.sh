# formats.sh - flowc check --format json|sarif: one valid document on
# stdout; SARIF validated against the official SARIF 2.1.0 JSON schema.
. "$(dirname "$0")/lib.sh" "$@"

cd "$TMP" || exit 2
printf '%s\n' "$CLEAN_PROGRAM" >clean.flow
printf '%s\n' "$ERROR_PROGRAM" >error.flow
printf '%s\n' "$WARNING_PROGRAM" >warning.flow
mkdir "sp ace"
printf '%s\n' "$ERROR_PROGRAM" >"sp ace/e rr.flow"

run "$FLOWC" check --format json clean.flow
expect_status 0 "json, clean"
expect_empty err "json, clean"
cp "$TMP/out" clean.json
expect_ok "json, clean: valid document" "$PYTHON" "$HERE/validate.py" json clean.json 0 0

run "$FLOWC" check --format json clean.flow error.flow warning.flow "sp ace"
expect_status 1 "json, errors"
expect_empty err "json, errors"
cp "$TMP/out" all.json
expect_ok "json, errors: valid document" "$PYTHON" "$HERE/validate.py" json all.json 2 1
expect_contains out '"code": "E0106"' "json, errors"
expect_contains out '"file": "sp ace/e rr.flow"' "json, errors"

run "$FLOWC" check --format=json --werror warning.flow
expect_status 1 "json, --werror"

run "$FLOWC" check --format sarif clean.flow
expect_status 0 "sarif, clean"
cp "$TMP/out" clean.sarif
expect_ok "sarif, clean: valid against the SARIF 2.1.0 schema" \
  "$PYTHON" "$HERE/validate.py" sarif clean.sarif 0

run "$FLOWC" check --format sarif clean.flow error.flow warning.flow "sp ace"
expect_status 1 "sarif, errors"
expect_empty err "sarif, errors"
cp "$TMP/out" all.sarif
expect_ok "sarif, errors: valid against the SARIF 2.1.0 schema" \
  "$PYTHON" "$HERE/validate.py" sarif all.sarif 3
expect_contains out '"uri": "sp%20ace/e%20rr.flow"' "sarif: URI-escaped path"

finish
