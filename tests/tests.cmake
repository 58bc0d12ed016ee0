# tests.cmake - the test suite, one included file per area (each owns its own).
include(${CMAKE_CURRENT_SOURCE_DIR}/tests/unit/unit.cmake OPTIONAL)
include(${CMAKE_CURRENT_SOURCE_DIR}/tests/check/check.cmake OPTIONAL)
include(${CMAKE_CURRENT_SOURCE_DIR}/tests/cli/cli.cmake OPTIONAL)
include(${CMAKE_CURRENT_SOURCE_DIR}/tests/docs/docs.cmake OPTIONAL)
include(${CMAKE_CURRENT_SOURCE_DIR}/tests/examples/examples.cmake OPTIONAL)
include(${CMAKE_CURRENT_SOURCE_DIR}/tests/robustness/robustness.cmake OPTIONAL)
