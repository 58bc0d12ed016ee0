# context.cmake - the context sources: every source with good and bad input,
# the sandbox, the caps and the hashes of what was read (test_context, over
# runtime/context.c and runtime/csv.c); `flowc run` reading csv and json
# contexts, and refusing a bad row and a symlink that leads out (cli_context.sh).
add_executable(test_context ${CMAKE_CURRENT_LIST_DIR}/test_context.c)
target_include_directories(test_context PRIVATE ${CMAKE_CURRENT_LIST_DIR}/..)
target_link_libraries(test_context PRIVATE flowlib)
add_test(NAME context.sources COMMAND test_context)
set_tests_properties(context.sources PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed" TIMEOUT 120)
add_test(NAME context.cli COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli_context.sh $<TARGET_FILE:flowc>)
set_tests_properties(context.cli PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed" TIMEOUT 120)
