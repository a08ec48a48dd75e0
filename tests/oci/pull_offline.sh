#!/usr/bin/env bash
# oci.pull_offline: oci-layout:DIR, oci-archive:FILE, docker-archive:FILE (written by
# skopeo) and a registry mirror from config.toml; `images` shows the real source.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"

run_ml pull --json "oci-layout:$ML_IMG_DIR/busybox:latest"
expect_rc 0
ref_sha=$(json_field "$OUT" 'd["rootfs_sha256"]')
[ "$(json_field "$OUT" 'd["manifest"]')" = "$(layout_manifest "$ML_IMG_DIR/busybox")" ] || fail "layout manifest digest"

run_ml pull --json "oci-layout:$ML_IMG_DIR/multiarch"
expect_rc 0
run_ml pull "oci-layout:$ML_IMG_DIR/busybox:nope"
expect_rc 125
expect_contains "$ERR" 'no image tagged "nope"'

tar -C "$ML_IMG_DIR/busybox" -cf "$TEST_TMP/busybox.oci.tar" .
XDG_CACHE_HOME="$TEST_TMP/c-ociarch" run_ml pull --json "oci-archive:$TEST_TMP/busybox.oci.tar"
expect_rc 0
[ "$(json_field "$OUT" 'd["rootfs_sha256"]')" = "$ref_sha" ] || fail "oci-archive gave another rootfs"
[ -z "$(ls -d "$TEST_TMP"/c-ociarch/matchlock/unpack-* 2>/dev/null)" ] || fail "unpack dir left behind"

skopeo copy -q "oci:$ML_IMG_DIR/busybox:latest" "docker-archive:$TEST_TMP/busybox.docker.tar:matchlock/busybox:latest" \
  >"$TEST_TMP/skopeo.log" 2>&1 || fail "skopeo: $(cat "$TEST_TMP/skopeo.log")"
XDG_CACHE_HOME="$TEST_TMP/c-dockarch" run_ml pull --json "docker-archive:$TEST_TMP/busybox.docker.tar"
expect_rc 0
rootfs=$(json_field "$OUT" 'd["rootfs"]')
ext4_ok "$rootfs"

# Mirror: a registry name that does not resolve, served by the anonymous registry.
mkdir -p "$XDG_CONFIG_HOME/matchlock"
printf '[registry."registry.invalid"]\nmirrors = ["%s"]\n' "$ML_REG_ANON" >"$XDG_CONFIG_HOME/matchlock/config.toml"
XDG_CACHE_HOME="$TEST_TMP/c-mirror" run_ml pull --json "registry.invalid/matchlock/busybox:latest"
expect_rc 0
[ "$(json_field "$OUT" 'd["rootfs_sha256"]')" = "$ref_sha" ] || fail "mirror gave another rootfs"
XDG_CACHE_HOME="$TEST_TMP/c-mirror" run_ml images
expect_contains "$OUT" "http://$ML_REG_ANON/matchlock/busybox"
# Layout mirror
printf '[registry."registry.invalid"]\nmirrors = ["oci-layout:%s"]\n' "$ML_IMG_DIR/busybox" >"$XDG_CONFIG_HOME/matchlock/config.toml"
XDG_CACHE_HOME="$TEST_TMP/c-mirror2" run_ml pull --json "registry.invalid/matchlock/busybox:latest"
expect_rc 0
expect_contains "$(json_field "$OUT" 'd["source"]')" "oci-layout:$ML_IMG_DIR/busybox"
