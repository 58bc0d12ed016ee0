# build.cmake - `flowc build`: standalone executables, their flags, --emit-llvm
# and --emit-obj, and equivalence with the VM on every example.
add_test(NAME build.executables COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/build.sh $<TARGET_FILE:flowc> ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(build.executables PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed" TIMEOUT 300)
add_test(NAME build.ir_golden COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/ir_golden.sh $<TARGET_FILE:flowc> ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(build.ir_golden PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed")
