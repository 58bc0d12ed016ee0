# cli.cmake - tests of the flowc command line: each script runs flowc (whose
# path is its first argument) and checks exit statuses and output; the
# json/sarif outputs are validated with Python (tests/cli/validate.py).
set(FLOW_CLI_TESTS basics explain check formats)
foreach(t IN LISTS FLOW_CLI_TESTS)
  add_test(NAME cli.${t}
           COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/${t}.sh $<TARGET_FILE:flowc>)
  set_tests_properties(cli.${t} PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed")
endforeach()
