# net.cmake - flowc run against the mock model server (tests/mockserver).
add_test(NAME net.faults COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/faults.sh $<TARGET_FILE:flowc> $<TARGET_FILE:flow_mockserver>)
set_tests_properties(net.faults PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed" TIMEOUT 300)
add_test(NAME net.budget COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/budget.sh $<TARGET_FILE:flowc> $<TARGET_FILE:flow_mockserver>)
set_tests_properties(net.budget PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed" TIMEOUT 120)
add_test(NAME net.example COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/example.sh $<TARGET_FILE:flowc> $<TARGET_FILE:flow_mockserver> ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(net.example PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed" TIMEOUT 120)
add_test(NAME net.limits COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/limits.sh $<TARGET_FILE:flowc> $<TARGET_FILE:flow_mockserver>)
set_tests_properties(net.limits PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed" TIMEOUT 120)
