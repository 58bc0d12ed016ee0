# testcmd.sh - `flowc test`: every example's tests pass offline; a failing
# assertion shows its source line, message and the values compared; a call
# no mock answers is refused; successive, judge and cassette mocks; pass_rate
# over seeds; TAP and JUnit output (checked against junit.xsd with xmllint);
# exit statuses; the same output on every run.
# Usage: sh testcmd.sh FLOWC REPO_ROOT
. "$(dirname "$0")/../cli/lib.sh" "$1"
ROOT=$(cd "$2" && pwd)
FLOWC=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")

# the examples' own tests, from the repository root (paths as a user types them)
cd "$ROOT" || exit 2
run "$FLOWC" test examples/
expect_status 0 "flowc test examples/"
expect_contains out "0 failed, 0 errors" "every example test passes"
if grep -q "ERROR\|FAIL" "$TMP/out"; then fail "an example test failed"; else pass; fi

cd "$TMP" || exit 2
cp "$HERE/fixture.flow" "$HERE/record.flow" .
printf '"Nothing loads"\n' > rec.jsonl
run "$FLOWC" run record.flow --mock --input rec.jsonl --record recorded.jsonl
expect_status 0 "recording the cassette"

run "$FLOWC" test fixture.flow
expect_status 1 "a file with failing tests"
cp "$TMP/out" text1.txt
expect_contains out "  ok    urgent tickets are escalated" "a passing test"
expect_contains out "  FAIL  successive replies and failing comparisons" "a failing test"
expect_contains out "failed: \"successive replies and failing comparisons\": the second reply" "the failure names the test and the message"
expect_contains out "  --> fixture.flow:35:10" "the failure points at the assertion"
expect_contains out '35 |   assert b == "Thanks!" "the second reply"' "the source line is shown"
expect_contains out '= note: expected: "Thanks!"' "expected value"
expect_contains out '= note: actual:   "Thanks, we are on it."' "actual value"
expect_contains out "= note: left:     21" "left of a comparison"
expect_contains out "= note: right:    100" "right of a comparison"
expect_contains out "  ERROR a call nobody mocked" "an unmocked call is an error"
expect_contains out "prompt \`classify\` calls binding \`fast\` (openai), which this test does not mock" "the refusal names prompt and binding"
expect_contains out "or a run with --allow-network (at fixture.flow:19:12)" "the refusal says how to allow it and where"
expect_contains out "the mock of prompt \`classify\` has 1 reply, and call 2 asked for one more" "a sequence that runs out"
expect_contains out "  ok    a low judge score is re-asked with feedback" "judge mock with retry"
expect_contains out "  ok    a flaky judge measured over seeds" "pass_rate over seeds"
expect_contains out "  ok    replies recorded in a cassette" "a cassette mock"
expect_contains out "flowc test: 7 tests in 1 file: 4 passed, 1 failed, 2 errors" "the summary line"

run "$FLOWC" test fixture.flow
if cmp -s text1.txt "$TMP/out"; then pass; else fail "two runs of the same tests differ"; fi

# TAP: a plan, one line per test, YAML details for the failures
run "$FLOWC" test --format tap fixture.flow
expect_status 1 "TAP output of failing tests"
expect_contains out "TAP version 13" "TAP header"
expect_contains out "1..7" "TAP plan"
expect_contains out "not ok 2 - fixture.flow: successive replies and failing comparisons" "TAP failure line"
expect_contains out '      expected: "\"Thanks!\""' "TAP expected value"
expect_contains out "ok 6 - fixture.flow: a flaky judge measured over seeds" "TAP success line"
n=$(grep -c "^ok \|^not ok " "$TMP/out")
expect_equals_n() { if [ "$1" = "$2" ]; then pass; else fail "$3: expected $2, found $1"; fi; }
expect_equals_n "$n" 7 "TAP test lines"

# JUnit: valid against the schema, counts right; the validator itself can say no
run "$FLOWC" test --format junit --output report.xml fixture.flow "$ROOT/examples/support/triage.flow"
expect_status 1 "JUnit output of failing tests"
if xmllint --noout --schema "$HERE/junit.xsd" report.xml 2>xmllint.err; then pass; else fail "the JUnit report does not validate: $(cat xmllint.err)"; fi
expect_contains_file() { if grep -qF "$2" "$1"; then pass; else fail "$3: $1 lacks '$2'"; fi; }
expect_contains_file report.xml '<testsuites name="flowc test" tests="9" failures="1" errors="2"' "JUnit totals"
expect_contains_file report.xml '<failure message="the second reply" type="AssertionFailure">' "JUnit failure"
expect_contains_file report.xml 'classname="fixture"' "JUnit class name"
printf '<testsuites tests="1" failures="0" errors="0"><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="no classname" time="0"/></testsuite></testsuites>\n' > bad.xml
if xmllint --noout --schema "$HERE/junit.xsd" bad.xml 2>/dev/null; then fail "the schema accepts a testcase without classname"; else pass; fi

# --allow-network lets an unmocked call through (to a closed port: it fails to connect, not to be refused)
OPENAI_API_KEY=sk-test OPENAI_BASE_URL=http://127.0.0.1:9/v1 run "$FLOWC" test --allow-network fixture.flow
expect_status 1 "tests with the network allowed"
if grep -q "which this test does not mock" "$TMP/out"; then fail "--allow-network still refuses the call"; else pass; fi

# a file that does not check, and usage errors
printf 'flow main() -> int { yield "no" }\ntest "t" { assert main() == 1 }\n' > broken.flow
run "$FLOWC" test broken.flow
expect_status 1 "a file that does not check"
expect_contains err "error[E0" "its diagnostics are printed"
expect_contains out "ERROR (the file does not check)" "it counts as an error"
run "$FLOWC" test
expect_status 2 "no files"
run "$FLOWC" test missing.flow
expect_status 2 "a missing file"
run "$FLOWC" test --format yaml fixture.flow
expect_status 2 "an unknown format"
finish
