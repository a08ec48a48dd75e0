# Nested mount targets (label vm): /workspace (the project, rw) with a cache dir
# mounted at /workspace/cache and a ro dir at /workspace/vendor/lib, plus a
# snapshot mount with a rw mount inside it. The inner mounts come up after the
# outer ones whatever the file's order; writes land in the right host dirs; the
# inner target shows in the outer share as an empty directory; ro stays ro.
# Under the channel transport the same file is refused with a clear error.
. "$(dirname "$0")/../vm/lib.sh"
PROJ="$TEST_TMP/proj"
CACHE="$TEST_TMP/cache-dir"
LIB="$TEST_TMP/lib-dir"
SNAP="$TEST_TMP/snap-src"
INNER="$TEST_TMP/inner-dir"
mkdir -p "$PROJ" "$CACHE" "$LIB" "$SNAP" "$INNER"
echo project >"$PROJ/p.txt"
echo cached >"$CACHE/c.txt"
echo lib >"$LIB/l.txt"
echo snap >"$SNAP/s.txt"
cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "nested"

[sandbox]
image = "$BUSYBOX"
workdir = "/"

# Listed inner-first on purpose.
[[mounts]]
source = "$LIB"
target = "/workspace/vendor/lib"
mode = "ro"

[[mounts]]
source = "$CACHE"
target = "/workspace/cache"

[[mounts]]
source = "."
target = "/workspace"

[[mounts]]
source = "$INNER"
target = "/snap/inner"

[[mounts]]
source = "$SNAP"
target = "/snap"
mode = "snapshot"
TOML
cd "$PROJ"

run_ml run --trust -- sh -c '
  cat /workspace/p.txt /workspace/cache/c.txt /workspace/vendor/lib/l.txt /snap/s.txt
  echo new >/workspace/cache/n.txt
  echo top >/workspace/top.txt
  touch /workspace/vendor/lib/x 2>/dev/null && echo RO-WRITABLE
  echo in >/snap/inner/i.txt
  echo overlay >/snap/o.txt
  grep -E " /(workspace|snap)[^ ]* " /proc/mounts | cut -d" " -f2 | tr "\n" " "'
expect_rc 0
expect_contains "$OUT" "project
cached
lib
snap"
case "$OUT" in *RO-WRITABLE*) fail "nested ro mount is writable: $OUT" ;; esac
# Mount order: outer before inner (the inner shows after it in /proc/mounts).
order=$(printf '%s\n' "$OUT" | tail -1)
case "$order" in *"/workspace "*"/workspace/cache "*) ;; *) fail "mount order: $order" ;; esac
case "$order" in *"/workspace "*"/workspace/vendor/lib "*) ;; *) fail "mount order: $order" ;; esac
case "$order" in *"/snap "*"/snap/inner "*) ;; *) fail "mount order: $order" ;; esac
[ "$(cat "$CACHE/n.txt")" = new ] || fail "write to the inner mount did not reach its host dir"
[ ! -e "$PROJ/cache/n.txt" ] || fail "write to the inner mount went to the outer share"
[ "$(cat "$PROJ/top.txt")" = top ] || fail "write to the outer mount lost"
[ -d "$PROJ/cache" ] && [ -z "$(ls -A "$PROJ/cache")" ] || fail "the inner target is not an empty directory in the outer share"
[ -d "$PROJ/vendor/lib" ] || fail "the inner ro target directory was not created in the outer share"
[ ! -e "$LIB/x" ] || fail "ro inner share changed on the host"
[ "$(cat "$INNER/i.txt")" = in ] || fail "rw mount inside a snapshot mount did not reach its host dir"
[ ! -e "$SNAP/o.txt" ] && [ ! -e "$SNAP/inner" ] || fail "the snapshot mount's host dir changed"

# The channel transport cannot mount inside its own FUSE mount: refused up front.
MATCHLOCK_WORKSPACE_TRANSPORT=channel run_ml run --trust -- true
[ "$RC" -ne 0 ] || fail "nested mounts over the channel transport were accepted"
expect_contains "$ERR" "lies inside the mount at /workspace"
expect_contains "$ERR" "nested mounts need virtio-fs"
no_qemu_left
