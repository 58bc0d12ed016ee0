# basics.sh - flowc's global options, help texts and usage errors.
. "$(dirname "$0")/lib.sh" "$@"

run "$FLOWC" --version
expect_status 0 "--version"
expect_contains out "flowc " "--version"
if grep -qE '^flowc [0-9]+\.[0-9]+\.[0-9]+$' "$TMP/out"; then pass; else fail "--version: expected 'flowc X.Y.Z'"; fi

for args in "--help" "-h" "help"; do
  run "$FLOWC" $args
  expect_status 0 "flowc $args"
  expect_contains out "Usage: flowc COMMAND" "flowc $args"
  expect_contains out "check" "flowc $args lists check"
  expect_contains out "explain" "flowc $args lists explain"
  expect_empty err "flowc $args"
done

for cmd in check explain help; do
  run "$FLOWC" help "$cmd"
  expect_status 0 "help $cmd"
  expect_contains out "Usage: flowc $cmd" "help $cmd"
  run "$FLOWC" "$cmd" --help
  expect_status 0 "$cmd --help"
  expect_contains out "Usage: flowc $cmd" "$cmd --help"
done

run "$FLOWC"
expect_status 2 "no arguments"
expect_contains err "expected a command" "no arguments"

run "$FLOWC" frobnicate
expect_status 2 "unknown command"
expect_contains err "unknown command 'frobnicate'" "unknown command"
expect_contains err "expected one of check, explain, run, test, build, cache, runs, why, compile, disasm or help" "unknown command"

run "$FLOWC" --frobnicate
expect_status 2 "unknown global option"
expect_contains err "unknown option '--frobnicate'" "unknown global option"

run "$FLOWC" help frobnicate
expect_status 2 "help for an unknown command"
expect_contains err "unknown command 'frobnicate'" "help for an unknown command"

run "$FLOWC" check --frobnicate x.flow
expect_status 2 "unknown check option"
expect_contains err "unknown option '--frobnicate' for 'flowc check'" "unknown check option"
expect_contains err "--format" "unknown check option lists the options"

run "$FLOWC" check
expect_status 2 "check without paths"
expect_contains err "expects at least one FILE or DIR, found none" "check without paths"

run "$FLOWC" check --format
expect_status 2 "--format without a value"
expect_contains err "found the end of the arguments" "--format without a value"

run "$FLOWC" check --format xml x.flow
expect_status 2 "--format with a bad value"
expect_contains err "expects text, json or sarif, found 'xml'" "--format with a bad value"

run "$FLOWC" check --color=sometimes x.flow
expect_status 2 "--color with a bad value"
expect_contains err "expects auto, always or never, found 'sometimes'" "--color with a bad value"

run "$FLOWC" check --werror=yes x.flow
expect_status 2 "a flag given a value"
expect_contains err "takes no value" "a flag given a value"

run "$FLOWC" check "$TMP/does-not-exist.flow"
expect_status 2 "missing path"
expect_equals err "error[E0702]: cannot read \`$TMP/does-not-exist.flow\`: No such file or directory" "missing path"
expect_empty out "missing path"

mkdir "$TMP/empty"
run "$FLOWC" check "$TMP/empty"
expect_status 2 "directory without .flow files"
expect_contains err "found none" "directory without .flow files"

finish
