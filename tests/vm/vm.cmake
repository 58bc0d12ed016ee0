# vm.cmake - golden tests of programs run on the VM (tests/vm/cases).
add_test(NAME vm.cases COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run_cases.sh $<TARGET_FILE:flowc> ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(vm.cases PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed")
