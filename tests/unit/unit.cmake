# unit.cmake - unit tests of the C modules that can be tested without the
# parser: the source map, diagnostic lists and the diagnostic renderers.
add_executable(test_diag ${CMAKE_CURRENT_LIST_DIR}/test_diag.c)
target_link_libraries(test_diag PRIVATE flowfront)
add_test(NAME unit.diag COMMAND test_diag)
set_tests_properties(unit.diag PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed")
