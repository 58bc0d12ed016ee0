# context_keys.sh - a context's content hash is part of the request key of
# every call whose template reads it: editing a line the template does not
# even show changes those keys (a cassette recorded before the edit then
# misses them) and no other call's key.
# Usage: sh context_keys.sh FLOWC
. "$(dirname "$0")/../cli/lib.sh" "$1"
FLOWC=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")
cd "$TMP" || exit 2

printf 'Be brief.\nNever promise refunds.\n' > rules.md
cat > k.flow <<'FLOW'
model m { provider: mock, name: "mock-1", max_tokens: 50 }
context rules: string = file("rules.md")
prompt ruled(t: string) -> string {
  model: m
  system "{{ lines(rules)[0] }}"
  user "{{ t }}"
}
prompt plain(t: string) -> string {
  model: m
  user "{{ t }}"
}
flow main(t: string) -> string { yield ruled(t) + plain(t) }
FLOW
printf '"a"\n' > in.jsonl
key_of() { grep "\"name\":\"$1\"" "$2" | sed 's/.*"key":"\([0-9a-f]*\)".*/\1/'; }

run "$FLOWC" run k.flow --mock --input in.jsonl --trace t1.jsonl --record rec.jsonl
expect_status 0 "the first run"
if grep -q '"contexts":{"rules":"' rec.jsonl; then pass; else fail "the recorded request names the context and its hash"; fi

printf 'Be brief.\nRefunds within 30 days.\n' > rules.md   # line 2: not shown by the template
run "$FLOWC" run k.flow --mock --input in.jsonl --trace t2.jsonl
expect_status 0 "the run after the edit"
if [ "$(key_of ruled t1.jsonl)" != "$(key_of ruled t2.jsonl)" ]; then pass; else fail "the key of the call reading the context did not change"; fi
if [ "$(key_of plain t1.jsonl)" = "$(key_of plain t2.jsonl)" ]; then pass; else fail "the key of a call not reading the context changed"; fi

run "$FLOWC" run k.flow --replay rec.jsonl --input in.jsonl
expect_status 1 "replaying the cassette recorded before the edit"
expect_contains err "no recorded reply for prompt \`ruled\`" "the call reading the edited context misses"
if grep -q "prompt \`plain\`" "$TMP/err"; then fail "the call not reading it missed too"; else pass; fi
finish
