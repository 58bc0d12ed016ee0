# providers.cmake - unit tests of the offline providers: canonical requests and
# their keys, the mock provider, and cassettes (record, replay, malformed files,
# no secrets written). Links the runtime through the project library.
add_executable(test_providers ${CMAKE_CURRENT_LIST_DIR}/test_providers.c)
target_link_libraries(test_providers PRIVATE flowlib)
add_test(NAME providers COMMAND test_providers)
set_tests_properties(providers PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed")
target_include_directories(test_providers PRIVATE ${CMAKE_CURRENT_LIST_DIR}/..)  # tests/tally.h
