# Compiler settings shared by every Parasol target: warnings are errors, optional sanitizers.
set(PARASOL_WARNINGS -Wall -Wextra -Werror -Wno-unused-parameter)
# GCC 12's libstdc++ makes -Wrestrict report overlapping memcpy in plain std::string code at -O3
# in C++20 (GCC PR 105329: `s = "t";`, `"x" + std::to_string(i)`), which stopped the standard
# Release build in a dozen places. The Release build turns it off on GCC 12 only; the default
# (-O2) and sanitizer builds keep -Wrestrict, so real aliasing is still caught there.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND PARASOL_WARNINGS $<$<CONFIG:Release>:-Wno-restrict>)
endif()

if(PARASOL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# parasol_library(NAME SOURCES ... DEPS ...): one library per component under src/.
function(parasol_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${PARASOL_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# parasol_test(NAME SOURCES ... DEPS ...): a GoogleTest binary registered with ctest.
function(parasol_test name)
  if(NOT PARASOL_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${PARASOL_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE PARASOL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit TIMEOUT 300)
endfunction()
