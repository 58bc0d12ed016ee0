# reject.sh - a reply that does not match the prompt's output type counts as
# a failed check: `else retry` re-asks with the validation error (naming the
# field path) as feedback, `else fallback` asks the other binding, `else skip`
# drops the item, an eval's `ensure ... else retry` re-asks too, and a call
# with no check fails its item. A recorded run replays byte for byte.
# Usage: sh reject.sh FLOWC MOCKSERVER
. "$(dirname "$0")/lib.sh" "$@"
cd "$TMP" || exit 2

# a re-ask (its feedback names the rejection) gets a good reply; the first
# ask of each marker gets a reply with a field of the wrong type
cat > script.jsonl <<'JSON'
{"match": "never", "reply": {"label": "ok", "score": "high"}}
{"match": "previous answer was rejected", "reply": {"label": "ok", "score": 0.5}}
{"match": "retry-me", "reply": {"label": "ok", "score": "high"}}
{"match": "ensure-me", "reply": {"label": "ok", "score": "high"}}
{"match": "fall-back", "path": "/v1/chat", "reply": {"label": "ok"}}
{"match": "nocheck", "reply": {"label": 3, "score": 1}}
{"match": "skip-me", "reply": {"label": "ok", "score": "high"}}
JSON
start_mock --lifetime 120 --max-requests 200 --script script.jsonl

cat > reject.flow <<FLOW
model primary { provider: openai, name: "gpt-primary", base_url: "http://127.0.0.1:$PORT/v1", max_tokens: 50 }
model backup { provider: anthropic, name: "claude-backup", base_url: "http://127.0.0.1:$PORT", max_tokens: 50 }
type Verdict { label: string, score: float }
prompt ask(t: string) -> Verdict {
  model: primary
  user "Judge: {{ t }}"
}
eval sane(v: Verdict) { assert v.score >= 0.0 "a score is not negative" }
type Out { id: string, label: string, score: float }
flow main(id: string) -> Out {
  if id == "ensure-me" {
    let v = ask(id) ensure sane else retry 2
    yield Out { id: id, label: v.label, score: v.score }
  } else if id == "fall-back" {
    let v = ask(id)
    check v.label != "" else fallback backup
    yield Out { id: id, label: v.label, score: v.score }
  } else if id == "skip-me" {
    let v = ask(id)
    check v.label != "" else skip
    yield Out { id: id, label: v.label, score: v.score }
  } else if id == "nocheck" {
    let v = ask(id)
    yield Out { id: id, label: v.label, score: v.score }
  } else {
    let v = ask(id)
    check v.label != "" else retry 2
    yield Out { id: id, label: v.label, score: v.score }
  }
}
FLOW
printf '"%s"\n' plain retry-me ensure-me fall-back skip-me nocheck never > in.jsonl
export OPENAI_API_KEY=sk-test ANTHROPIC_API_KEY=sk-test
run "$FLOWC" run reject.flow --keep-going --input in.jsonl --output out.jsonl --errors errors.jsonl \
  --record rec.jsonl --metrics metrics.json
expect_status 1 "some items fail"
total=$(wc -l < in.jsonl)
ok=$(wc -l < out.jsonl)
bad=$(wc -l < errors.jsonl)
skipped=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"]["skipped"])' metrics.json)
if [ "$skipped" = 1 ] && [ $((ok + bad + skipped)) -eq "$total" ]; then pass; else
  fail "$ok results + $bad errors + $skipped skipped for $total items (one skip expected)"; fi
if grep -q 'skip-me' out.jsonl errors.jsonl; then fail "the skipped item was written"; else pass; fi
for m in plain retry-me ensure-me fall-back; do
  if grep -q "\"id\":\"$m\"" out.jsonl; then pass; else fail "item $m should have succeeded"; cat errors.jsonl; fi
done
for m in nocheck never; do
  if grep -q "\"id\":\"$m\"" out.jsonl; then fail "item $m should have failed"; else pass; fi
done
# the error names the field path and, after the retries, the attempts
has() { if grep -qF -- "$2" "$1"; then pass; else fail "$1 lacks '$2'"; cat "$1"; fi; }
same() { if [ "$1" = "$2" ]; then pass; else fail "$3: expected $2, found $1"; fi; }
has errors.jsonl 'does not match its output type'
has errors.jsonl '.score'
has errors.jsonl 'after 3 attempts'

curl -s "http://127.0.0.1:$PORT/requests" > requests.jsonl
count() { grep -c "$1" requests.jsonl; }
# retry-me: the first ask, then one re-ask carrying the rejection as feedback
same "$(count 'retry-me')" 2 'count retry-me'
same "$(grep 'retry-me' requests.jsonl | grep -c 'previous answer was rejected')" 1 'grep retry-me requests.jsonl | grep -c previous answer was rejected'
same "$(count 'ensure-me')" 2 'count ensure-me'
# never: three asks (one and two retries), each later one with more feedback
same "$(count 'never')" 3 'count never'
# fall-back: once on each binding
same "$(grep 'fall-back' requests.jsonl | grep -c '/v1/messages')" 1 'grep fall-back requests.jsonl | grep -c /v1/messages'
same "$(count 'nocheck')" 1 'count nocheck'
# the feedback names the field that failed
if grep 'retry-me' requests.jsonl | grep 'previous answer was rejected' | grep -q 'score'; then pass; else
  fail "the feedback does not name the field"; fi

# the recording replays offline byte for byte, rejections included
kill $server 2>/dev/null
run "$FLOWC" run reject.flow --keep-going --input in.jsonl --output out2.jsonl --errors errors2.jsonl \
  --replay rec.jsonl
expect_status 1 "the replay fails the same items"
if cmp -s out.jsonl out2.jsonl && cmp -s errors.jsonl errors2.jsonl; then pass; else
  fail "the replay differs"; diff out.jsonl out2.jsonl; diff errors.jsonl errors2.jsonl; fi
finish
