# store.cmake - the run store: cache, runs, damaged files, kill -9 and resume, runs diff, why.
if(FLOW_SANITIZE)
  set(FLOW_KILL_POINTS 10)
else()
  set(FLOW_KILL_POINTS 50)
endif()
add_test(NAME store.cache_resume COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/store.sh $<TARGET_FILE:flowc>
         $<TARGET_FILE:flow_mockserver> ${FLOW_KILL_POINTS})
set_tests_properties(store.cache_resume PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed" TIMEOUT 600)
add_test(NAME store.runs_diff COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/diff.sh $<TARGET_FILE:flowc>)
set_tests_properties(store.runs_diff PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed")
add_test(NAME store.why COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/why.sh $<TARGET_FILE:flowc> $<TARGET_FILE:flow_mockserver>)
set_tests_properties(store.why PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed" TIMEOUT 300)
