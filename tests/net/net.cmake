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

# The same rig on the POSIX platform layer (net_posix: the poll(2) loop with emulated edges):
# backpressure both ways, many parallel flows, large transfers, closes (label posix).
if(MATCHLOCK_POSIX_TWIN)
  add_executable(net_rig_posix net/net_rig.cpp net/splice.cpp)
  target_link_libraries(net_rig_posix PRIVATE net_posix util_posix)
  foreach(_t close zero_window parallel large)
    matchlock_shell_test(net.posix_${_t} net/${_t}.sh LABELS "net;posix" TIMEOUT 600)
    set_property(TEST net.posix_${_t} APPEND PROPERTY ENVIRONMENT "NET_RIG=$<TARGET_FILE:net_rig_posix>")
    set_property(TEST net.posix_${_t} PROPERTY RESOURCE_LOCK net_rig)
  endforeach()
endif()

# `matchlock gateway` (docs/gateway.md): a pod netns whose only route is the gateway, the security
# suite's TEST-NET world behind it (tests/net/gateway_lib.sh); and its startup refusals.
matchlock_shell_test(gateway.policy net/gateway.sh LABELS "net;security" TIMEOUT 300)
matchlock_shell_test(gateway.attacks net/gateway_attacks.sh LABELS "net;security" TIMEOUT 300)
matchlock_shell_test(gateway.config cli/gateway_config.sh LABELS "net;security" TIMEOUT 120)
