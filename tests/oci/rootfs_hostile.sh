#!/usr/bin/env bash
# oci.rootfs_hostile: hostile layers pulled from the registry. Normalised ones (as
# containerd does) give an e2fsck-clean rootfs, bit-identical across two cache dirs,
# with everything inside the image; rejected ones fail naming the layer and the
# reason, and leave no rootfs, sidecar or temp file (docs/threat-model.md).
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"

# debugfs_cat IMAGE PATH: a file's content read by e2fsprogs, not by us.
debugfs_cat() { debugfs -R "cat $2" "$1" 2>/dev/null; }

for kind in dotdot abs symlink dup; do
  pull_twice "$ML_REG_ANON/matchlock/hostile-$kind:latest"
  rootfs=$(json_field "$OUT" 'd["rootfs"]')
  case $kind in
    dotdot)  [ "$(debugfs_cat "$rootfs" /escape)" = escaped ] || fail "../escape not at /escape"
             [ "$(debugfs_cat "$rootfs" /escape2)" = escaped ] || fail "etc/../../escape2 not at /escape2" ;;
    abs)     [ "$(debugfs_cat "$rootfs" /abs-dir/x)" = abs ] || fail "/abs-dir/x missing" ;;
    symlink) [ "$(debugfs_cat "$rootfs" /etc/passwd)" = pwned ] || fail "evil/passwd not in the image's /etc"
             [ "$(debugfs_cat "$rootfs" /tmp/escaped)" = pwned ] || fail "up/escaped not in the image's /tmp" ;;
    dup)     [ "$(debugfs_cat "$rootfs" /dup)" = second ] || fail "last duplicate did not win"
             [ "$(debugfs_cat "$rootfs" /d2f)" = file ] || fail "dir then file: file did not win" ;;
  esac
done

for kind in hardlink size bomb; do
  c="$TEST_TMP/h-$kind"
  XDG_CACHE_HOME="$c" run_ml pull "$ML_REG_ANON/matchlock/hostile-$kind:latest"
  [ "$RC" -ne 0 ] || fail "hostile-$kind built a rootfs"
  expect_contains "$ERR" "layer sha256:"
  case $kind in
    hardlink) expect_contains "$ERR" "hardlink to a missing target" ;;
    size)     expect_contains "$ERR" "max_layer_bytes" ;;
    bomb)     expect_contains "$ERR" "max_expansion_ratio" ;;
  esac
  [ -z "$(ls -A "$c/matchlock/rootfs" 2>/dev/null)" ] || fail "hostile-$kind left files: $(ls -A "$c/matchlock/rootfs")"
  cache_clean "$c"
done
