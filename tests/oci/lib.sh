# Helpers for the pull tests (label `registry`). Source after cli/lib.sh and rig/lib.sh.

# ext4_ok FILE: e2fsck finds nothing to fix (read-only check).
ext4_ok() {
  e2fsck -fn "$1" >"$TEST_TMP/fsck" 2>&1 || fail "e2fsck $1: $(cat "$TEST_TMP/fsck")"
}

# json_field JSON EXPR: python expression over d (the last JSON line of the text).
json_field() {
  printf '%s\n' "$1" | tail -n 1 | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$2"
}

# pull_twice REF: pulls REF into two separate cache dirs; both rootfs images must be
# e2fsck-clean and bit-identical. Sets PULLED_MANIFEST and PULLED_ROOTFS_SHA.
pull_twice() {
  local ref=$1 first="" i
  for i in 1 2; do
    XDG_CACHE_HOME="$TEST_TMP/cache$i" run_ml pull --json "$ref"
    expect_rc 0
    local rootfs; rootfs=$(json_field "$OUT" 'd["rootfs"]')
    [ -f "$rootfs" ] || fail "$ref: no rootfs at '$rootfs'; out: $OUT"
    ext4_ok "$rootfs"
    local sha; sha=$(sha256sum "$rootfs" | cut -d' ' -f1)
    [ "sha256:$sha" = "$(json_field "$OUT" 'd["rootfs_sha256"]')" ] || fail "$ref: rootfs sha256 differs from the reported one"
    if [ -z "$first" ]; then first=$sha; else [ "$sha" = "$first" ] || fail "$ref: rootfs differs between cache dirs ($first vs $sha)"; fi
    PULLED_MANIFEST=$(json_field "$OUT" 'd["manifest"]')
  done
  PULLED_ROOTFS_SHA=$first
}

# cache_has_no_partials DIR: no unverified leftovers in the blob store.
cache_clean() {
  local dir=$1/matchlock/blobs/sha256
  [ -d "$dir" ] || return 0
  local bad; bad=$(find "$dir" -type f \( -name '*.partial' -o -name '*.tmp-*' \) | head -n 5)
  [ -z "$bad" ] || fail "leftover files in the store: $bad"
  local f
  for f in "$dir"/*; do
    [ -e "$f" ] || continue
    [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || fail "store holds $f whose content does not match its name"
  done
}

# layout_manifest LAYOUT: the manifest (or index) digest a layout tags "latest".
layout_manifest() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"])' "$1"
}
