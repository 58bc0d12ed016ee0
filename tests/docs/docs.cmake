# docs.cmake - every diagnostic code has a page in docs/errors/ whose Wrong
# example triggers the code and whose Right example checks clean.
add_test(NAME error_docs
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/docs/check_error_docs.sh
                 $<TARGET_FILE:flowc> ${CMAKE_CURRENT_SOURCE_DIR})
