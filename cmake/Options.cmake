# Every build option of the project lives in this file.
option(NY_WERROR "Treat compiler warnings as errors" OFF)
set(NY_SANITIZE "none" CACHE STRING "Sanitizers: none, address (ASan+UBSan), thread (TSan)")
set_property(CACHE NY_SANITIZE PROPERTY STRINGS none address thread)
option(NY_BUILD_TESTS "Build the Criterion suites and integration tests" ON)
option(NY_BUILD_BENCH "Build the benchmarks in bench/" ON)
option(NY_BUILD_FUZZ "Build the libFuzzer targets (clang only)" OFF)
option(NY_NETNS_TESTS "Register the network-namespace integration tests with ctest" ON)

add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
                    -Wformat=2 -Wvla -Wno-unused-parameter)
if(NY_WERROR)
  add_compile_options(-Werror)
endif()

if(NY_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(NY_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT NY_SANITIZE STREQUAL "none")
  message(FATAL_ERROR "NY_SANITIZE must be none, address or thread, not '${NY_SANITIZE}'")
endif()

if(NY_BUILD_FUZZ AND NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "NY_BUILD_FUZZ needs clang (CC=clang): libFuzzer is a clang feature")
endif()
if(NY_BUILD_FUZZ)
  # Coverage instrumentation for the library too, or the fuzzers would only see their own files.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
