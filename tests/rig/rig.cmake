# The registry test rig (tests/rig/README.md). Included from tests/CMakeLists.txt.
# Fixtures: `rig` (registries + fast images, ~10 s), `rig_debian` (the debootstrap'd
# image; minutes the first time on a machine, cached in $MATCHLOCK_RIG_CACHE afterwards)
# and `rig_arm64` (busybox-multi; busybox-static:arm64 fetched once into the same cache).
set(MATCHLOCK_RIG_DIR "${PROJECT_BINARY_DIR}/rig")
set(MATCHLOCK_RIG_IMAGES "${PROJECT_BINARY_DIR}/rig-images")
set(_rig "${CMAKE_CURRENT_SOURCE_DIR}/rig/registry.py")

add_test(NAME rig.setup
  COMMAND python3 ${_rig} up --dir ${MATCHLOCK_RIG_DIR} --images ${MATCHLOCK_RIG_IMAGES})
set_tests_properties(rig.setup PROPERTIES FIXTURES_SETUP rig LABELS registry TIMEOUT 600)

add_test(NAME rig.cleanup COMMAND python3 ${_rig} down --dir ${MATCHLOCK_RIG_DIR})
set_tests_properties(rig.cleanup PROPERTIES FIXTURES_CLEANUP "rig" LABELS registry TIMEOUT 60)

add_test(NAME rig.debian
  COMMAND python3 ${_rig} debian --dir ${MATCHLOCK_RIG_DIR} --images ${MATCHLOCK_RIG_IMAGES})
set_tests_properties(rig.debian PROPERTIES FIXTURES_SETUP rig_debian FIXTURES_REQUIRED rig
  LABELS registry TIMEOUT 1800)

# Fixture `rig_arm64`: matchlock/busybox-multi (linux/amd64 + linux/arm64 busybox), for the
# arm64 VM tests; busybox-static:arm64 comes from Debian's mirror once per machine.
add_test(NAME rig.arm64
  COMMAND python3 ${_rig} arm64 --dir ${MATCHLOCK_RIG_DIR} --images ${MATCHLOCK_RIG_IMAGES})
set_tests_properties(rig.arm64 PROPERTIES FIXTURES_SETUP rig_arm64 FIXTURES_REQUIRED rig
  LABELS "registry;arm64" TIMEOUT 600)

matchlock_shell_test(rig.smoke rig/smoke.sh LABELS registry FIXTURES rig TIMEOUT 120)
matchlock_shell_test(rig.tree_dump rig/tree_dump_selftest.sh LABELS registry FIXTURES rig TIMEOUT 120)
