# cli_run.sh - flowc run's command line: input validation with item numbers
# and field paths, --keep-going with --errors, stopping at the first failure,
# --model swaps, retries with feedback, exit statuses.
# Usage: sh cli_run.sh FLOWC
. "$(dirname "$0")/../cli/lib.sh" "$1"
FLOWC=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")
cd "$TMP" || exit 2

cat > p.flow <<'FLOW'
model fast { provider: mock, name: "fast-model", max_tokens: 50 }
model slow { provider: mock, name: "slow-model", max_tokens: 50 }
enum Mood { happy, sad }
type In { id: int, text: string, mood: Mood }
type Out { id: int, summary: string, words: int }
prompt summarize(t: string) -> string {
  model: fast
  user "Summarize: {{ t }}"
}
flow main(item: In) -> Out {
  check item.id >= 0 else fail
  let s = summarize(item.text)
  check len(s) < 5 else retry 2
  yield Out { id: item.id, summary: s, words: len(split(item.text, " ")) }
}
FLOW
cat > ok.flow <<'FLOW'
model fast { provider: mock, name: "fast-model", max_tokens: 50 }
/// the alternative that --model can swap in
model slow { provider: mock, name: "slow-model", max_tokens: 50 }
policy p { fallback: [slow] }
type In { id: int, text: string }
prompt summarize(t: string) -> string {
  model: fast
  policy: p
  user "Summarize: {{ t }}"
}
flow main(item: In) -> int {
  let s = summarize(item.text)
  yield item.id + len(s) - len(s)
}
FLOW
printf '%s\n' '{"id":1,"text":"a b c"}' '{"id":2,"text":"d e"}' '{"id":3,"text":"f"}' > ok.jsonl

# a clean run: results in input order, exit 0
run "$FLOWC" run ok.flow --mock --input ok.jsonl
expect_status 0 "clean run"
expect_equals out "1
2
3" "clean run output in input order"

# main takes a parameter: --input is required
run "$FLOWC" run ok.flow --mock
expect_status 2 "missing --input"
expect_contains err "give the items with --input" "missing --input message"

# a bad input line names the line and the field path
printf '%s\n' '{"id":1,"text":"x","mood":"happy"}' '{"id":2,"text":"y","mood":"angry"}' '{"id":"3","text":"z","mood":"sad"}' > bad.jsonl
run "$FLOWC" run p.flow --mock --keep-going --input bad.jsonl --errors errors.jsonl
expect_status 1 "bad input lines"
expect_contains err 'input line 2: at .mood: expected one of "happy", "sad", found "angry"' "bad enum names line and path"
expect_contains err "input line 3: at .id: expected an int" "bad int names line and path"
if grep -q '"item":1' errors.jsonl && grep -q '"item":2' errors.jsonl; then pass; else fails=$((fails + 1)); echo "FAIL: --errors lacks the failed items"; cat errors.jsonl; fi

# a line that is not JSON names its line, column and what was expected; a
# string with \u0000 in it is a string like any other
printf '%s\n' '{"id":1,"text":"a\u0000b"}' '{"id":2,"text" "y"}' > notjson.jsonl
run "$FLOWC" run ok.flow --mock --keep-going --input notjson.jsonl --output notjson.out
expect_status 1 "a line that is not JSON"
expect_contains err "input line 2, column 16 is not JSON: expected ':' after an object key, found '\"'" "not-JSON line message"
if [ "$(cat notjson.out)" = 1 ]; then pass; else fails=$((fails + 1)); echo "FAIL: the line with \\u0000 was not run"; cat notjson.out; fi

# retries spend their attempts, then fail naming the check and the line
printf '%s\n' '{"id":1,"text":"x","mood":"happy"}' > one.jsonl
run "$FLOWC" run p.flow --mock --input one.jsonl --trace trace.jsonl
expect_status 1 "retry exhausted"
expect_contains err "check failed: len(s) < 5 (after 3 attempts)" "retry exhausted message"
expect_contains err "p.flow:13:" "retry exhausted names the source line"
n=$(grep -c '"event":"prompt"' trace.jsonl)
if [ "$n" -eq 3 ]; then pass; else fails=$((fails + 1)); echo "FAIL: expected 3 attempts in the trace, found $n"; fi
# each retry asks differently (feedback is part of the request)
k=$(grep -o '"key":"[0-9a-f]*"' trace.jsonl | sort -u | wc -l)
if [ "$k" -eq 3 ]; then pass; else fails=$((fails + 1)); echo "FAIL: expected 3 distinct requests, found $k"; fi

# without --keep-going the run stops at the first failure (in input order)
printf '%s\n' '{"id":-1,"text":"x","mood":"happy"}' '{"id":2,"text":"y","mood":"sad"}' > first.jsonl
run "$FLOWC" run p.flow --mock --input first.jsonl
expect_status 1 "stop at the first failure"
expect_empty out "nothing after the failed item"
expect_contains err "item 0 failed: check failed: item.id >= 0" "first failure reported"

# --model swaps a binding
run "$FLOWC" run ok.flow --mock --input ok.jsonl --model fast=slow --trace swapped.jsonl
expect_status 0 "--model swap"
if grep -q '"binding":"slow"' swapped.jsonl && ! grep -q '"binding":"fast"' swapped.jsonl; then pass; else fails=$((fails + 1)); echo "FAIL: --model fast=slow did not swap"; cat swapped.jsonl; fi
run "$FLOWC" run ok.flow --mock --input ok.jsonl --model fast=nope
expect_status 2 "--model with an unknown binding"
expect_contains err "no binding \`nope\`" "--model unknown binding message"

# a program with errors does not run
printf 'flow main() -> int { yield "x" }\n' > broken.flow
run "$FLOWC" run broken.flow --mock
expect_status 1 "a program that does not check"
expect_contains err "error[E0201]" "its diagnostics are shown"

# usage errors
run "$FLOWC" run ok.flow --mock --replay x.cassette --input ok.jsonl
expect_status 2 "--mock with --replay"
run "$FLOWC" run ok.flow --mock --concurrency 0 --input ok.jsonl
expect_status 2 "--concurrency 0"
run "$FLOWC" run ok.flow --mock --input missing.jsonl
expect_status 2 "missing input file"
finish
