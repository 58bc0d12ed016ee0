# testcmd.cmake - `flowc test`: the examples' tests, every outcome and format
# (JUnit checked with xmllint against junit.xsd).
add_test(NAME testcmd COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/testcmd.sh $<TARGET_FILE:flowc> ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(testcmd PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed")
