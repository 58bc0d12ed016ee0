# bytecode.cmake - the bytecode format (runtime/bytecode.h), the disassembler
# and SHA-256: write/read/write round trip, every truncation, 2,000 seeded
# single-byte corruptions, targeted corruptions re-hashed so that they reach
# the verifier, re-hashed random corruptions (no crash), FIPS 180-4 vectors,
# and the opcode table of docs/bytecode.md against runtime/opcodes.def.
# Passes on its exit status, so a sanitizer report fails it.
add_executable(test_bytecode ${CMAKE_CURRENT_LIST_DIR}/test_bytecode.c)
target_link_libraries(test_bytecode PRIVATE flowlib)
add_test(NAME bytecode.format
         COMMAND test_bytecode --docs ${CMAKE_CURRENT_SOURCE_DIR}/docs/bytecode.md)
set_tests_properties(bytecode.format PROPERTIES TIMEOUT 300)
target_include_directories(test_bytecode PRIVATE ${CMAKE_CURRENT_LIST_DIR}/..)  # tests/tally.h
