# limits.sh - a binding's requests_per_minute holds calls back (a bucket of
# one second's worth, refilled continuously), and its concurrency limits the
# calls in flight, as the mock server observes them.
# Usage: sh limits.sh FLOWC MOCKSERVER
. "$(dirname "$0")/lib.sh" "$@"
cd "$TMP" || exit 2
start_mock --lifetime 60 --latency-ms 50
write_flow() {
  cat > l.flow <<FLOW
model m {
  provider: openai, name: "gpt-x", base_url: "http://127.0.0.1:$PORT/v1", max_tokens: 20
  limits { $1 }
}
prompt say(t: string) -> string {
  model: m
  user "Say {{ t }}"
}
flow main(t: string) -> string { yield say(t) }
FLOW
}
i=0; while [ $i -lt 40 ]; do printf '"item %d"\n' $i; i=$((i + 1)); done > in.jsonl

# 1200 requests a minute: 20 at once, then 20 a second, so 40 calls need at
# least one second (a lower bound: a slow machine only adds to it)
write_flow "requests_per_minute: 1200"
start=$("$PYTHON" -c 'import time; print(time.time())')
run "$FLOWC" run l.flow --input in.jsonl --concurrency 64
end=$("$PYTHON" -c 'import time; print(time.time())')
expect_status 0 "rate-limited run"
if "$PYTHON" -c "import sys; sys.exit(0 if $end - $start >= 0.9 else 1)"; then pass; else
  fails=$((fails + 1)); echo "FAIL: 40 calls at 1200 requests a minute took less than 0.9 s"; fi
lines=$(wc -l < "$TMP/out")
if [ "$lines" -eq 40 ]; then pass; else fails=$((fails + 1)); echo "FAIL: expected 40 results, found $lines"; fi

# concurrency 4: the server never has more than 4 requests in service
curl -s "http://127.0.0.1:$PORT/stats?reset=1" > /dev/null
write_flow "concurrency: 4"
run "$FLOWC" run l.flow --input in.jsonl --concurrency 64
expect_status 0 "concurrency-limited run"
max=$(curl -s "http://127.0.0.1:$PORT/stats" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["max_in_service"])')
if [ "$max" -le 4 ] && [ "$max" -ge 1 ]; then pass; else fails=$((fails + 1)); echo "FAIL: $max requests in service at once, expected at most 4"; fi
finish
