# robustness.cmake - the front end must survive any input (tests/robustness/).
#   robustness.fuzz_check   in-process: every truncation and a seeded series of
#                           mutations of each corpus file, through compile.h
#   robustness.exit_status  process-level: flowc check on ~200 broken files
#                           exits 0 or 1, never crashes or hangs
# The corpus is examples/ plus tests/robustness/seed_corpus/. Both tests pass
# on their exit status (a sanitizer report after the summary line must fail).

add_executable(fuzz_check ${CMAKE_CURRENT_LIST_DIR}/fuzz_check.c)
target_link_libraries(fuzz_check PRIVATE flowfront)

add_test(NAME robustness.fuzz_check
         COMMAND fuzz_check --seed 1 ${CMAKE_CURRENT_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(robustness.fuzz_check PROPERTIES
                     TIMEOUT 600
                     LABELS robustness)

add_test(NAME robustness.exit_status
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/exit_status.sh
                 $<TARGET_FILE:flowc> ${CMAKE_CURRENT_SOURCE_DIR} 200 1
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(robustness.exit_status PROPERTIES
                     TIMEOUT 600
                     LABELS robustness)

# Mutations of the golden cases too: they hold every kind of error already.
add_test(NAME robustness.fuzz_golden
         COMMAND fuzz_check --seed 2 --mutations 3000 --max-trunc 0
                 --corpus ${CMAKE_CURRENT_SOURCE_DIR}/tests/check ${CMAKE_CURRENT_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(robustness.fuzz_golden PROPERTIES
                     TIMEOUT 600
                     LABELS robustness)
