# replay.sh - a run recorded with --record is reproduced offline by --replay,
# byte for byte (output, errors, logical trace, where each trace event says
# the reply came from the cassette rather than the mock), at any concurrency; a
# request the cassette does not hold is an error naming the prompt.
# Usage: sh replay.sh FLOWC REPO_ROOT
. "$(dirname "$0")/../cli/lib.sh" "$1"
ROOT=$(cd "${2:?usage: sh replay.sh FLOWC REPO_ROOT}" && pwd)
FLOWC=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")

for flow in "$ROOT"/examples/*/*.flow; do
  name=$(basename "$flow" .flow)
  input="${flow%.flow}.input.jsonl"
  "$FLOWC" run "$flow" --mock --keep-going --input "$input" --seed 3 --concurrency 8 \
    --record "$TMP/$name.cassette" --output "$TMP/$name.out" --errors "$TMP/$name.err" --trace "$TMP/$name.trace" 2>/dev/null
  "$FLOWC" run "$flow" --replay "$TMP/$name.cassette" --keep-going --input "$input" --concurrency 64 \
    --output "$TMP/$name.out2" --errors "$TMP/$name.err2" --trace "$TMP/$name.trace2" 2>/dev/null
  sed 's/"source":"replay"/"source":"mock"/' "$TMP/$name.trace2" > "$TMP/$name.trace3" # where the replies came from
  if cmp -s "$TMP/$name.out" "$TMP/$name.out2" && cmp -s "$TMP/$name.err" "$TMP/$name.err2" &&
     same_logical "$TMP/$name.trace" "$TMP/$name.trace3"; then
    pass
  else
    fails=$((fails + 1))
    echo "FAIL: $name: the replay differs from the recorded run"
    diff "$TMP/$name.out" "$TMP/$name.out2" | head -5
    diff "$TMP/$name.err" "$TMP/$name.err2" | head -5
  fi
done

# a miss names the prompt and where it is called
cd "$TMP" || exit 2
printf '%s\n' '{"flow_cassette":1,"program":""}' > empty.cassette
run "$FLOWC" run "$ROOT/examples/qa/qa.flow" --replay empty.cassette --input "$ROOT/examples/qa/qa.input.jsonl"
expect_status 1 "replay miss"
expect_contains err "no recorded reply for prompt" "replay miss names the prompt"
expect_contains err "qa.flow:" "replay miss names the source line"
finish
