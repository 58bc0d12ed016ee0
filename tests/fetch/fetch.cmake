# fetch.cmake - the HTTPS GET of `http(url)` context sources (runtime/fetch.c):
# its rules without a network (test_fetch_rules), and fetch_get against a
# local HTTPS server with a test CA (fetch.sh, through the test_fetch driver).
add_executable(test_fetch_rules ${CMAKE_CURRENT_LIST_DIR}/test_fetch_rules.c)
target_include_directories(test_fetch_rules PRIVATE ${CMAKE_CURRENT_LIST_DIR}/..)  # tests/tally.h
target_link_libraries(test_fetch_rules PRIVATE flowlib)
add_test(NAME fetch.rules COMMAND test_fetch_rules)
set_tests_properties(fetch.rules PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed")

add_executable(test_fetch ${CMAKE_CURRENT_LIST_DIR}/fetch_driver.c)
target_link_libraries(test_fetch PRIVATE flowlib)
add_test(NAME fetch.https COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/fetch.sh $<TARGET_FILE:test_fetch> $<TARGET_FILE:flowc>)
set_tests_properties(fetch.https PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed" TIMEOUT 120)
