# Included from guest/CMakeLists.txt: the arm64 guest agent as an ExternalProject
# (its own toolchain: cmake/aarch64-linux-gnu.cmake), output ${build}/matchlock-agent-arm64.
# Without the cross compiler the build says so and builds the x86-64 agent only.
option(MATCHLOCK_AGENT_ARM64 "Cross-build the arm64 guest agent (needs g++-aarch64-linux-gnu)" ON)
if(NOT MATCHLOCK_AGENT_ARM64)
  return()
endif()
find_program(MATCHLOCK_AARCH64_CXX aarch64-linux-gnu-g++)
if(NOT MATCHLOCK_AARCH64_CXX)
  message(WARNING "aarch64-linux-gnu-g++ not found (apt-get install g++-aarch64-linux-gnu, or scripts/install-deps): "
                  "building the x86-64 guest agent only; linux/arm64 sandboxes will not boot")
  return()
endif()
# The cross compiler must not see the host's /usr/include (x86-64 glibc headers): give it
# a directory holding only nlohmann/ (header-only).
find_path(MATCHLOCK_JSON_HEADER_DIR nlohmann/json.hpp REQUIRED)
set(_json_dir ${CMAKE_BINARY_DIR}/agent-arm64-include)
file(MAKE_DIRECTORY ${_json_dir})
file(CREATE_LINK ${MATCHLOCK_JSON_HEADER_DIR}/nlohmann ${_json_dir}/nlohmann SYMBOLIC)

include(ExternalProject)
ExternalProject_Add(agent_arm64
  SOURCE_DIR ${PROJECT_SOURCE_DIR}/guest/agent/cross
  BINARY_DIR ${CMAKE_BINARY_DIR}/agent-arm64
  CMAKE_ARGS
    -DCMAKE_TOOLCHAIN_FILE=${PROJECT_SOURCE_DIR}/cmake/aarch64-linux-gnu.cmake
    -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
    -DMATCHLOCK_SOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DMATCHLOCK_JSON_INCLUDE=${_json_dir}
    -DMATCHLOCK_AGENT_OUTPUT_DIR=${CMAKE_BINARY_DIR}
    -DMATCHLOCK_WERROR=${MATCHLOCK_WERROR}
  INSTALL_COMMAND ""
  BUILD_ALWAYS ON  # the sources live outside SOURCE_DIR: let its own build decide what is stale
  BUILD_BYPRODUCTS ${CMAKE_BINARY_DIR}/matchlock-agent-arm64)
