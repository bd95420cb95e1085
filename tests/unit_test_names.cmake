# catch_discover_tests makes one ctest entry per Catch2 test case, named after it and run by that name. CMake
# cannot carry a name holding ';' (it splits the name in two) or '[' / ']' (an unbalanced '[' glues the names
# after it into one entry): such entries match no test case, and before --warn NoTests they passed without
# running one. A unit test name with those characters is refused here, naming the file and the test.
function(slipway_check_unit_test_names sources)
  foreach(src IN LISTS sources)
    file(READ "${src}" text)
    string(REGEX MATCH "TEST_CASE\\(\"[^\"]*(;|\\[|\\])[^\"]*\"" bad "${text}")
    if(bad)
      string(REPLACE ";" "<;>" bad "${bad}")
      message(FATAL_ERROR "${src}: ${bad}: a unit test name may not hold ';', '[' or ']' (ctest could not run it by name)")
    endif()
  endforeach()
endfunction()
