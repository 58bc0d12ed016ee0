# examples.cmake - the examples check clean and a typo in one is reported well.
add_test(NAME examples.check
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/examples.sh $<TARGET_FILE:flowc> ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(examples.check PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed")
