# run.cmake - flowc run: determinism across seeds and concurrency, record and
# replay, bytecode round trips and refusals, the command line, evaluation
# outcomes and reports, every `else` action of check and ensure (with the
# `flowc test` files tests/testcmd/actions*.flow), the table of model calls
# and the progress line (with the mock model server), bounded memory on
# streamed input.
foreach(t determinism replay bytecode_cli)
  add_test(NAME run.${t}
           COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/${t}.sh $<TARGET_FILE:flowc> ${CMAKE_CURRENT_SOURCE_DIR})
  set_tests_properties(run.${t} PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed" TIMEOUT 900)
endforeach()
add_test(NAME run.cli COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli_run.sh $<TARGET_FILE:flowc>)
add_test(NAME run.evals COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/evals.sh $<TARGET_FILE:flowc>)
add_test(NAME run.context_keys COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/context_keys.sh $<TARGET_FILE:flowc>)
add_test(NAME run.actions COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/actions.sh $<TARGET_FILE:flowc> ${CMAKE_CURRENT_SOURCE_DIR})
add_test(NAME run.summary COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/summary.sh $<TARGET_FILE:flowc> $<TARGET_FILE:flow_mockserver>)
set_tests_properties(run.cli run.evals run.context_keys run.actions run.summary PROPERTIES
                     PASS_REGULAR_EXPRESSION " passed, 0 failed")
# A million items in the normal build; fewer under the sanitizers (slower,
# and their allocator keeps more memory), with a bound to match.
if(FLOW_SANITIZE)
  set(FLOW_MEMORY_ITEMS 50000)
  set(FLOW_MEMORY_MB 200)
else()
  set(FLOW_MEMORY_ITEMS 1000000)
  set(FLOW_MEMORY_MB 64)
endif()
add_test(NAME run.memory
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/memory.sh $<TARGET_FILE:flowc> ${FLOW_MEMORY_ITEMS} ${FLOW_MEMORY_MB})
set_tests_properties(run.memory PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed" TIMEOUT 900
                     # ASan's quarantine of freed memory would otherwise dominate the peak
                     ENVIRONMENT "ASAN_OPTIONS=quarantine_size_mb=8")
