# Network stack tests (label `net`). Included from tests/CMakeLists.txt.
# net_rig: a TAP in a private netns driven by net::Stack, real curl/wget/nc/getent inside.
add_executable(net_rig net/net_rig.cpp net/splice.cpp)
target_link_libraries(net_rig PRIVATE net util)

matchlock_unit_test(net_tests SOURCES unit/net_test.cpp unit/net_tcp_test.cpp LIBS net)

set(_net_env "NET_RIG=$<TARGET_FILE:net_rig>")
foreach(_t dns icmp http close zero_window parallel loss large)
  matchlock_shell_test(net.${_t} net/${_t}.sh LABELS net TIMEOUT 600)
  set_property(TEST net.${_t} APPEND PROPERTY ENVIRONMENT "${_net_env}")
  # The rig runs its own namespaces; run them one at a time so throughput tests don't share cores.
  set_property(TEST net.${_t} PROPERTY RESOURCE_LOCK net_rig)
endforeach()

# Fuzz targets: the corpus runs as a plain test everywhere; with clang and
# -DMATCHLOCK_FUZZ=ON a libFuzzer binary is built too (tests/fuzz/README.md).
add_executable(net_fuzz_corpus fuzz/net_fuzz.cpp fuzz/corpus_main.cpp)
target_link_libraries(net_fuzz_corpus PRIVATE net util)
add_test(NAME net.fuzz_corpus COMMAND net_fuzz_corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/net)
set_tests_properties(net.fuzz_corpus PROPERTIES LABELS "net;fuzz" TIMEOUT 120)
option(MATCHLOCK_FUZZ "Build libFuzzer targets (needs clang)" OFF)
if(MATCHLOCK_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MATCHLOCK_FUZZ needs clang: configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  add_executable(net_fuzz fuzz/net_fuzz.cpp)
  target_compile_options(net_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(net_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(net_fuzz PRIVATE net util)
endif()
