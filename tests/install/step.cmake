# step(title command...): runs a command of a test script; on failure prints its output and
# stops the test, naming STEP_NAME. Its output is left in step_output.
function(step title)
  message(STATUS "${STEP_NAME}: ${title}")
  execute_process(COMMAND ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out TIMEOUT 500)
  if(NOT rc EQUAL 0)
    message("${out}")
    message(FATAL_ERROR "${STEP_NAME}: '${title}' failed (${rc})")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()
