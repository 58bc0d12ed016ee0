# why.sh - flowc why and --explain-cache: each call of a run is explained
# against the same call (item, prompt, occurrence) of the program's run
# before it: a context whose content changed, an edited prompt (which
# message), a changed parameter of the binding, a new item, a request that
# failed before (never cached), a call its item never made, one asked with --cache off, the mock
# provider (never cached); hits are counted; bad arguments are errors.
# Usage: sh why.sh FLOWC MOCKSERVER
. "$(dirname "$0")/../net/lib.sh" "$1" "$2"
unset FLOW_STORE
cd "$TMP" || exit 2
echo '{"match":"Summarize: item 4","times":1,"fault":"500"}' > script.jsonl
start_mock --lifetime 300 --script script.jsonl
export OPENAI_API_KEY=sk-test

write_flow() { # write_flow MAX_TOKENS TEMPLATE_OF_B
cat > p.flow <<FLOW
model m { provider: openai, name: "gpt-test", base_url: "http://127.0.0.1:$PORT/v1", max_tokens: $1 }
context rules: string = file("rules.txt")
prompt a(t: string) -> string {
  model: m
  system "Rules: {{ rules }}"
  user "Summarize: {{ t }}"
}
prompt b(t: string) -> string {
  model: m
  user "$2 {{ t }}"
}
flow main(t: string) -> string { yield a(t) + " / " + b(t) }
FLOW
}
write_flow 30 "Translate:"
echo "be brief" > rules.txt
printf '"item %d"\n' 1 2 3 4 5 > in.jsonl

run "$FLOWC" why p.flow
expect_status 2 "a program never run"
expect_contains err "expected a recorded run of $TMP/p.flow, found none (run it first)" "no run is named"
run "$FLOWC" why nothere.flow
expect_status 2 "a missing program"
expect_contains err "cannot read \`nothere.flow\`" "the missing file is named"

run "$FLOWC" run p.flow --input in.jsonl --keep-going
expect_status 1 "the first run (item 3 fails once)"
run "$FLOWC" why p.flow
expect_status 0 "flowc why"
expect_contains out "prompt a: 5 calls, 0 from the cache, 5 not" "calls counted per prompt"
expect_contains out "4 miss: no earlier run of the program to reuse (items 0, 1, 2, 4)" "a first run reuses nothing"
expect_contains out "1 miss: no earlier run of the program to reuse; it failed, so nothing was stored (item 3)" "a failed call"

run "$FLOWC" run p.flow --input in.jsonl --explain-cache
expect_status 0 "the same run again"
expect_contains err "flowc: the cache" "--explain-cache explains on stderr"
expect_contains err "prompt a: 5 calls, 4 from the cache, 1 not" "hits and misses counted"
expect_contains err "1 miss: the same request failed before, and failures are never cached (item 3)" "a failed call is not reused"
expect_contains err "prompt b: 5 calls, 4 from the cache, 1 not" "b's calls counted"
expect_contains err "1 miss: new: run " "item 3 failed before it called b"

echo "be very brief" > rules.txt
run "$FLOWC" run p.flow --input in.jsonl
expect_status 0 "the run after the context changed"
run "$FLOWC" why p.flow
expect_contains out "5 miss: context \`rules\` changed (content " "the changed context is named"
expect_contains out "; the system message changed (items 0, 1, 2, 3, 4)" "and the message it changed"
expect_contains out "prompt b: 5 calls, 5 from the cache, 0 not" "the prompt without the context is served from the cache"

write_flow 40 "Translate:"
run "$FLOWC" run p.flow --input in.jsonl
run "$FLOWC" why p.flow
expect_contains out "5 miss: max_tokens 30 -> 40 (items 0, 1, 2, 3, 4)" "a changed parameter of the binding"

write_flow 40 "Translate into French:"
printf '"item %d"\n' 1 2 3 4 5 6 > in.jsonl
run "$FLOWC" run p.flow --input in.jsonl
run "$FLOWC" why p.flow
expect_contains out "prompt a: 6 calls, 5 from the cache, 1 not" "an unchanged prompt is served from the cache"
expect_contains out "5 hit: served from the cache (items 0, 1, 2, 3, 4)" "hits are counted"
expect_contains out "5 miss: the user message changed (prompt \`b\` was edited) (items 0, 1, 2, 3, 4)" "an edited prompt"
expect_contains out "1 miss: new: run " "a new item"

run "$FLOWC" run p.flow --input in.jsonl --cache off
run "$FLOWC" cache clear b
run "$FLOWC" run p.flow --input in.jsonl
run "$FLOWC" why p.flow
expect_contains out "6 miss: the same request was asked before, but its reply was not in the cache" "a cleared reply"
run "$FLOWC" why p.flow last~1
expect_contains out "6 miss: the same request was asked before, but its reply was not in the cache" "--cache off: nothing reused, with the run named by RUN"

run "$FLOWC" run p.flow --input in.jsonl --mock
run "$FLOWC" why p.flow
expect_contains out "6 miss: answered by the mock provider, which is never cached" "mock calls"
run "$FLOWC" why p.flow zz
expect_status 2 "a bad RUN"
run "$FLOWC" why
expect_status 2 "no FILE"
if grep -q "sk-test" .flow/store.db .flow/store.db-wal 2>/dev/null; then fail "the key reached the store"; else pass; fi
finish
