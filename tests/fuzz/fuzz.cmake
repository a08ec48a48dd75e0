# Fuzz targets (docs/fuzzing.md), label `fuzz`. Included from tests/CMakeLists.txt.
# tests/fuzz/NAME_fuzz.cpp defines LLVMFuzzerTestOneInput; tests/fuzz/corpus/NAME holds its corpus.
#  - Every build: NAME_fuzz_corpus (with corpus_main.cpp) replays the corpus, ctest `fuzz.NAME`.
#  - -DMATCHLOCK_FUZZ=ON (clang; bench/fuzz/run.sh): NAME_fuzz, the libFuzzer binary.
if(MATCHLOCK_FUZZ)
  # `cmake --build build-fuzz --target fuzz_targets` builds every libFuzzer binary (and no agent).
  add_custom_target(fuzz_targets)
endif()

# matchlock_fuzz_target(NAME LIBS lib... [LABELS l...] [TIMEOUT s])
function(matchlock_fuzz_target name)
  cmake_parse_arguments(F "" "TIMEOUT" "LIBS;LABELS" ${ARGN})
  if(NOT F_TIMEOUT)
    set(F_TIMEOUT 300)
  endif()
  add_executable(${name}_fuzz_corpus fuzz/${name}_fuzz.cpp fuzz/corpus_main.cpp)
  target_link_libraries(${name}_fuzz_corpus PRIVATE ${F_LIBS})
  add_test(NAME fuzz.${name} COMMAND ${name}_fuzz_corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${name})
  set_tests_properties(fuzz.${name} PROPERTIES LABELS "fuzz;${F_LABELS}" TIMEOUT ${F_TIMEOUT})
  if(MATCHLOCK_FUZZ)
    add_executable(${name}_fuzz fuzz/${name}_fuzz.cpp)
    target_link_options(${name}_fuzz PRIVATE -fsanitize=fuzzer)
    target_link_libraries(${name}_fuzz PRIVATE ${F_LIBS})
    add_dependencies(fuzz_targets ${name}_fuzz ${name}_fuzz_corpus)
  endif()
endfunction()

# Network input from the guest (net/).
matchlock_fuzz_target(dns LIBS net LABELS net)
matchlock_fuzz_target(stack LIBS net LABELS net)
matchlock_fuzz_target(tls_sni LIBS net LABELS net)
matchlock_fuzz_target(http_request LIBS net LABELS net)
matchlock_fuzz_target(http_response LIBS net LABELS net)
matchlock_fuzz_target(http_chunked LIBS net LABELS net)
# The host<->guest protocol, both decoders (guest/protocol; the host side also the snapshot
# listing engine/snapshot classifies).
matchlock_fuzz_target(protocol_host LIBS engine protocol)
matchlock_fuzz_target(protocol_agent LIBS protocol)
# Workspace: FUSE requests into the file server; virtqueue chains in guest memory.
matchlock_fuzz_target(workspace LIBS workspace util LABELS workspace)
matchlock_fuzz_target(virtqueue LIBS backends LABELS workspace)
# Registry input (oci/): manifests, indexes, image configs; layer tars into the tree.
matchlock_fuzz_target(oci_manifest LIBS oci)
matchlock_fuzz_target(oci_layer LIBS oci)
# Files the user (or a repository) supplies (engine/).
matchlock_fuzz_target(config LIBS engine)
matchlock_fuzz_target(lockfile LIBS engine)

