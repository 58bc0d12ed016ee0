# mockserver.cmake - the mock model server (flow_mockserver), its load
# generator (flow_mockbench), and the self-test that drives both with curl.
add_executable(flow_mockserver ${CMAKE_CURRENT_LIST_DIR}/flow_mockserver.c)
target_link_libraries(flow_mockserver PRIVATE PkgConfig::JANSSON)

add_executable(flow_mockbench ${CMAKE_CURRENT_LIST_DIR}/flow_mockbench.c)

add_test(NAME mockserver.selftest
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/selftest.sh
                 $<TARGET_FILE:flow_mockserver> $<TARGET_FILE:flow_mockbench>)
set_tests_properties(mockserver.selftest PROPERTIES
  PASS_REGULAR_EXPRESSION " passed, 0 failed"
  TIMEOUT 180)
