# runtime.cmake - unit tests of the runtime's value layer: values and program
# images (test_values), JSON conversion and lenient reply parsing (test_json),
# the JSON reader and writer (test_json_read, test_json_write), the JSON
# Schema validator (test_json_schema), the built-in functions
# (test_builtins), and the call statistics and progress line of a run
# (test_callstats). Each prints "N passed, M failed".
foreach(area values json json_read json_write json_schema builtins callstats)
  add_executable(test_rt_${area} ${CMAKE_CURRENT_LIST_DIR}/test_${area}.c)
  target_include_directories(test_rt_${area} PRIVATE ${CMAKE_CURRENT_LIST_DIR}/..)
  target_link_libraries(test_rt_${area} PRIVATE flowlib)
  add_test(NAME runtime.${area} COMMAND test_rt_${area})
  set_tests_properties(runtime.${area} PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed")
endforeach()
