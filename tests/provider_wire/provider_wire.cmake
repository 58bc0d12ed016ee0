# provider_wire.cmake - unit tests of the provider wire formats: request
# bodies, endpoints and keys for OpenAI, Anthropic and Ollama, reply parsing
# and error classification, Retry-After, base64, and the canary key that must
# appear in one request header only. No networking. Links the runtime
# through the project library.
add_executable(test_provider_wire ${CMAKE_CURRENT_LIST_DIR}/test_provider_wire.c)
target_link_libraries(test_provider_wire PRIVATE flowlib)
add_test(NAME provider_wire COMMAND test_provider_wire)
set_tests_properties(provider_wire PROPERTIES PASS_REGULAR_EXPRESSION " passed, 0 failed")
target_include_directories(test_provider_wire PRIVATE ${CMAKE_CURRENT_LIST_DIR}/..)  # tests/tally.h
