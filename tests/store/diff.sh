# diff.sh - flowc runs diff: after a prompt is edited, the diff names the
# prompt and its hash change with a line diff of its text (unchanged lines
# folded), every item whose output changed field by field, and the checks'
# pass-rate change; identical runs show no change; A and B default to the
# latest run and the previous run of the same program; ids by prefix,
# `last~N`; bad ids and a missing earlier run are errors that say so; prune
# keeps the latest runs and drops what the others kept; a store
# written with schema version 1 is migrated and its runs kept.
# Usage: sh diff.sh FLOWC
. "$(dirname "$0")/../cli/lib.sh" "$1"
unset FLOW_STORE
cd "$TMP" || exit 2

write_flow() { # write_flow RULE
cat > p.flow <<FLOW
model m { provider: mock, name: "m", max_tokens: 50 }
type Verdict { label: string, score: float }
prompt rate(t: string) -> Verdict {
  model: m
  system """
    You rate things.
    Rule 1: be brief.
    Rule 2: be fair.
    Rule 3: $1
    Rule 4: be kind.
    Rule 5: be exact.
    Rule 6: be done.
  """
  user "Rate: {{ t }}"
}
flow main(t: string) -> Verdict {
  let v = rate(t)
  check v.score >= 0.9 else warn
  yield v
}
FLOW
}
printf '"item %d"\n' 1 2 3 4 5 6 7 8 9 10 > in.jsonl
write_flow "be quick."
run "$FLOWC" run p.flow --input in.jsonl --store s.db
expect_status 0 "the first run"
run "$FLOWC" runs diff --store s.db
expect_status 2 "a diff with one run of the program"
expect_contains err "expected an earlier run of $TMP/p.flow to compare run" "no earlier run is named"

write_flow "be strict."
run "$FLOWC" run p.flow --input in.jsonl --store s.db
expect_status 0 "the run after the edit"
run "$FLOWC" runs diff --store s.db
expect_status 0 "flowc runs diff"
expect_contains out "  changed  prompt rate  " "the edited prompt is named"
expect_contains out "      -     Rule 3: be quick." "the old line"
expect_contains out "      +     Rule 3: be strict." "the new line"
expect_contains out "          Rule 2: be fair." "context before the change"
expect_contains out "          Rule 4: be kind." "context after the change"
if grep -q "Rule 6" "$TMP/out"; then fail "lines far from the change are folded"; else pass; fi
expect_contains out "        ..." "folded lines are marked"
expect_contains out "  1 unchanged" "the binding did not change"
expect_contains out "  10 changed, 0 unchanged" "every item's output changed (the mock's replies follow the request)"
expect_contains out "      score: 0.9 -> 0.94" "an item's changed field, old and new"
expect_contains out "check v.score >= 0.9 (p.flow:" "the check is listed"
expect_contains out "60.0% of 10    ->  40.0% of 10     -20.0 points" "the pass-rate change"
expect_contains out "model calls (A -> B)" "the usage section"
if grep -Eq "^  rate +10 calls +0 cached +[0-9]+/[0-9]+ tok +[0-9.]+ USD  ->     10 calls" "$TMP/out"; then pass; else
  fail "the prompt's calls, tokens and cost in both runs"; fi
expect_contains out "  total    " "a total row"

run "$FLOWC" run p.flow --input in.jsonl --store s.db
run "$FLOWC" runs diff --store s.db
expect_contains out "  0 changed, 10 unchanged" "an identical run changes no item"
expect_contains out "  2 unchanged" "nor any definition"
expect_contains out "same" "nor any pass rate"
if grep -q "changed  " "$TMP/out"; then fail "no definition is shown as changed"; else pass; fi

run "$FLOWC" runs diff last~2 last~1 --store s.db
expect_contains out "  changed  prompt rate  " "last~N names earlier runs"
first=$("$FLOWC" runs list --store s.db | tail -1 | cut -c1-6)
run "$FLOWC" runs diff "$first" --store s.db
expect_contains out "  changed  prompt rate  " "an id prefix against the latest run"
run "$FLOWC" runs diff nope --store s.db
expect_status 2 "a malformed id"
expect_contains err "expected a run id (at least 4 of its hex digits), \`last\` or \`last~N\`, found 'nope'" "the id is named"
run "$FLOWC" runs diff 0000 last --store s.db
expect_contains err "no such run (see \`flowc runs list\`)" "an unknown id"
run "$FLOWC" runs diff last~9 --store s.db
expect_contains err "expected that many runs" "last~N beyond the first run"

# another program in the same store is not compared with this one
sed 's/Rate:/Score:/' p.flow > q.flow
run "$FLOWC" run q.flow --input in.jsonl --store s.db
run "$FLOWC" runs diff --store s.db
expect_contains err "expected an earlier run of $TMP/q.flow" "runs are paired by program file"

# prune: the latest runs kept, the rest forgotten with what they kept
run "$FLOWC" runs prune 2 --store s.db
expect_status 0 "flowc runs prune"
expect_contains out "runs: 2 removed, the latest 2 kept" "the runs removed are counted"
n=$("$FLOWC" runs list --store s.db | wc -l)
if [ "$n" = 2 ]; then pass; else fail "two runs left, found $n"; fi
left=$("$PYTHON" -c 'import sqlite3; c = sqlite3.connect("s.db"); print(*[c.execute("select count(distinct run) from " + t).fetchone()[0] for t in ("items", "run_calls", "run_defs", "run_outcomes")])')
if [ "$left" = "2 2 2 2" ]; then pass; else fail "only the kept runs' rows are left, found $left"; fi
run "$FLOWC" runs diff last~1 last --store s.db
expect_status 0 "the kept runs still compare"
run "$FLOWC" runs prune x --store s.db
expect_status 2 "prune without a number"
expect_contains err "expects how many runs to keep (0 to 1000000), found 'x'" "the bad count is named"

# a store written by schema version 1: migrated, its run kept
"$PYTHON" - <<'PY'
import sqlite3
c = sqlite3.connect("v1.db")
c.executescript("""
CREATE TABLE runs(id TEXT PRIMARY KEY, program_hash TEXT NOT NULL, argv TEXT NOT NULL, cwd TEXT NOT NULL,
 started REAL NOT NULL, ended REAL, status TEXT NOT NULL, ok INTEGER NOT NULL DEFAULT 0,
 failed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE calls(key TEXT PRIMARY KEY, prompt TEXT NOT NULL, binding TEXT NOT NULL, reply BLOB NOT NULL,
 input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, created REAL NOT NULL);
CREATE INDEX calls_prompt ON calls(prompt);
INSERT INTO runs VALUES('0123456789abcdef', 'ab', '["run","p.flow"]', '/tmp', 1000.0, 1001.0, 'ok', 3, 0);
PRAGMA application_id = 1718382455;
PRAGMA user_version = 1;
""")
c.commit()
PY
run "$FLOWC" run p.flow --input in.jsonl --store v1.db
expect_status 0 "a run on a version-1 store"
run "$FLOWC" runs show 0123 --store v1.db
expect_contains out "0123456789abcdef  1970-01-01 00:16:40 UTC  ok" "the old run is kept"
v=$("$PYTHON" -c 'import sqlite3; print(sqlite3.connect("v1.db").execute("pragma user_version").fetchone()[0])')
if [ "$v" = 2 ]; then pass; else fail "the store is migrated to version 2, found $v"; fi
run "$FLOWC" runs diff 0123 --store v1.db
expect_contains out "not recorded for run 0123456789abcdef" "a run from before version 2 has no definitions"
finish
