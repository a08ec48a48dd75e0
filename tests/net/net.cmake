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
