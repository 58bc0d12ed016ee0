# unit.cmake - unit tests of the C modules: the source map, diagnostic lists,
# the diagnostic renderers, the scanner and parser, and the OTLP exporter.
add_executable(test_diag ${CMAKE_CURRENT_LIST_DIR}/test_diag.c)
target_link_libraries(test_diag PRIVATE flowfront)
add_test(NAME unit.diag COMMAND test_diag)
set_tests_properties(unit.diag PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed")

# The scanner and parser: docs, strings, units, recovery.
add_executable(test_parse ${CMAKE_CURRENT_LIST_DIR}/test_parse.c)
target_link_libraries(test_parse PRIVATE flowfront)
add_test(NAME unit.parse COMMAND test_parse)
set_tests_properties(unit.parse PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed")
target_include_directories(test_diag PRIVATE ${CMAKE_CURRENT_LIST_DIR}/..)  # tests/tally.h
target_include_directories(test_parse PRIVATE ${CMAKE_CURRENT_LIST_DIR}/..)  # tests/tally.h

# The OTLP trace exporter (runtime/otlp.c) against flow_mockserver's trace
# receiver, which otlp.sh starts.
add_executable(test_otlp ${CMAKE_CURRENT_LIST_DIR}/test_otlp.c)
target_include_directories(test_otlp PRIVATE ${CMAKE_CURRENT_LIST_DIR}/..)  # tests/tally.h
target_link_libraries(test_otlp PRIVATE flowlib)
add_test(NAME unit.otlp COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/otlp.sh $<TARGET_FILE:test_otlp>
         $<TARGET_FILE:flow_mockserver>)
set_tests_properties(unit.otlp PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed" TIMEOUT 120)
