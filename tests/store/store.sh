# store.sh - the run store (.flow/store.db, --store): a second identical run
# makes no request; a changed prompt invalidates exactly its calls; --cache
# ro/off; runs are recorded (flowc runs), the cache counted and cleared
# (flowc cache); a damaged or foreign store file is an error that says so;
# and a run killed with SIGKILL at seeded moments continues with --resume
# to an output identical to an uninterrupted run, without re-issuing any
# call whose reply was stored.
# Usage: sh store.sh FLOWC MOCKSERVER [KILL_POINTS]
. "$(dirname "$0")/../net/lib.sh" "$1" "$2"
POINTS=${3:-50}
unset FLOW_STORE
cd "$TMP" || exit 2
start_mock --lifetime 300 --latency-ms 10
requests() { curl -s "http://127.0.0.1:$PORT/stats" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["endpoints"]["openai"])'; }

write_flow() { # write_flow TEMPLATE_OF_B
cat > p.flow <<FLOW
model m { provider: openai, name: "gpt-test", base_url: "http://127.0.0.1:$PORT/v1", max_tokens: 30 }
prompt a(t: string) -> string {
  model: m
  user "Summarize: {{ t }}"
}
prompt b(t: string) -> string {
  model: m
  user "$1 {{ t }}"
}
flow main(t: string) -> string { yield a(t) + " / " + b(t) }
FLOW
}
write_flow "Translate:"
printf '"item %d"\n' 1 2 3 4 5 > in.jsonl
export OPENAI_API_KEY=sk-test

r0=$(requests)
run "$FLOWC" run p.flow --input in.jsonl --store s.db
expect_status 0 "the first run"
cp "$TMP/out" first.txt
r1=$(requests)
expect_n() { if [ "$1" = "$2" ]; then pass; else fail "$3: expected $2, found $1"; fi; }
expect_n $((r1 - r0)) 10 "the first run asks every call"
run "$FLOWC" run p.flow --input in.jsonl --store s.db
expect_status 0 "the second run"
r2=$(requests)
expect_n $((r2 - r1)) 0 "a second identical run makes no request"
if cmp -s first.txt "$TMP/out"; then pass; else fail "the cached run's output is the first run's"; fi

write_flow "Translate into French:"
run "$FLOWC" run p.flow --input in.jsonl --store s.db
r3=$(requests)
expect_n $((r3 - r2)) 5 "a changed prompt invalidates exactly its own calls"

run "$FLOWC" run p.flow --input in.jsonl --store s.db --cache off
r4=$(requests)
expect_n $((r4 - r3)) 10 "--cache off asks every call"
run "$FLOWC" run p.flow --input in.jsonl --store ro.db --cache ro
run "$FLOWC" cache stats --store ro.db
expect_contains out "cache: 0 replies" "--cache ro keeps nothing"
run "$FLOWC" cache stats --store s.db
expect_contains out "cache: 15 replies" "the cache holds every validated reply"
expect_contains out "  b  " "stats per prompt"
run "$FLOWC" runs list --store s.db
expect_status 0 "flowc runs list"
n=$(grep -c " ok " "$TMP/out")
expect_n "$n" 4 "every run is recorded"
run "$FLOWC" runs show last --store s.db
expect_contains out "command  flowc [\"run\",\"p.flow\"" "the run's command line is recorded"
run "$FLOWC" cache clear b --store s.db
expect_contains out "cache: 10 replies dropped" "clearing one prompt's replies (both versions of b)"
if grep -q "sk-test" s.db s.db-wal 2>/dev/null; then fail "the key reached the store"; else pass; fi

# a damaged file and a foreign database
printf 'this is not a database at all, just some text that is long enough to be read as a header' > bad.db
run "$FLOWC" run p.flow --input in.jsonl --store bad.db
expect_status 2 "a damaged store"
expect_contains err "expected a flow run store, found a damaged file or one that is not a database" "the damage is named"
"$PYTHON" -c 'import sqlite3; c = sqlite3.connect("other.db"); c.execute("create table t(x)"); c.commit()'
run "$FLOWC" run p.flow --input in.jsonl --store other.db
expect_status 2 "a foreign database"
expect_contains err "found an SQLite database of something else" "a foreign database is named"

# kill -9 at seeded moments, then --resume: the same output, no stored call asked again
printf '"row %d"\n' $(seq 1 24) > many.jsonl
"$FLOWC" run p.flow --input many.jsonl --store ref.db --output ref.txt --concurrency 2 2>/dev/null
seed=7
k=0
while [ $k -lt "$POINTS" ]; do
  k=$((k + 1))
  seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
  delay_ms=$(( seed % 180 ))
  rm -rf run.db run.db-wal run.db-shm out.txt
  "$FLOWC" run p.flow --input many.jsonl --store run.db --output out.txt --concurrency 2 --cache rw 2>/dev/null &
  pid=$!
  sleep "$(printf '0.%03d' "$delay_ms")"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  stored=$("$PYTHON" -c 'import sqlite3,sys
try:
    print(sqlite3.connect("run.db").execute("select count(*) from calls").fetchone()[0])
except Exception:
    print(0)')
  before=$(requests)
  if ! "$FLOWC" run --resume last --store run.db > /dev/null 2> resume.err; then
    # killed before the run was even recorded: there is nothing to resume, so it runs again
    if grep -q "no run recorded yet" resume.err; then
      "$FLOWC" run p.flow --input many.jsonl --store run.db --output out.txt --concurrency 2 2>/dev/null
    fi
  fi
  after=$(requests)
  if ! cmp -s out.txt ref.txt; then fail "kill at ${delay_ms} ms: the resumed output differs"; break; fi
  if [ $((after - before)) -gt $((48 - stored)) ]; then
    fail "kill at ${delay_ms} ms: the resume asked $((after - before)) calls with $stored of 48 stored"; break
  fi
  pass
done
finish
