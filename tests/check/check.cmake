# check.cmake - golden tests of `flowc check` diagnostics (tests/check/*.flow
# against *.expected; regenerate with run_golden.sh FLOWC REPO_ROOT --bless).
add_test(NAME golden_check
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/check/run_golden.sh
                 $<TARGET_FILE:flowc> ${CMAKE_CURRENT_SOURCE_DIR})
