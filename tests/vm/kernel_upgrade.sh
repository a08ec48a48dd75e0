# A kernel bundle made by an older matchlock (without the virtiofs module) is
# replaced once, at the next boot; offline (apt-get failing) the old bundle keeps
# working and the shares fall back to the FUSE channel. Private cache: the shared
# one's bundle is copied and stripped of virtiofs.
. "$(dirname "$0")/lib.sh"
shared="$XDG_CACHE_HOME"
export XDG_CACHE_HOME="$TEST_TMP/cache"
kernels="$XDG_CACHE_HOME/matchlock/kernels"
mkdir -p "$kernels"
old="$kernels/old-bundle"
cp -r "$(readlink -f "$shared/matchlock/kernels/current")" "$old"
python3 - "$old/bundle.json" <<'PY'
import json, sys
p = sys.argv[1]
m = json.load(open(p))
m["modules"] = [x for x in m["modules"] if x["name"] != "virtiofs"]
m["files"] = {k: v for k, v in m["files"].items() if "virtiofs" not in k}
json.dump(m, open(p, "w"), indent=2)
PY
rm -f "$old"/modules/*-virtiofs.ko
ln -s old-bundle "$kernels/current"
mkdir -p "$TEST_TMP/proj"
cd "$TEST_TMP/proj"
cat >Matchlockfile <<TOML
version = 1
name = "kup"
[sandbox]
image = "$BUSYBOX"
workdir = "/"
TOML
show_mount='grep -o " /workspace [a-z]*" /proc/mounts; echo ok >/workspace/written'

# 1. Offline: the install fails, the old bundle boots, /workspace comes over the channel.
offline="$TEST_TMP/offline-bin"
mkdir -p "$offline"
printf '#!/bin/sh\necho "E: Temporary failure resolving deb.debian.org" >&2\nexit 100\n' >"$offline/apt-get"
chmod +x "$offline/apt-get"
PATH="$offline:$PATH" run_ml run --trust -- sh -c "$show_mount"
expect_rc 0
expect_contains "$OUT" " /workspace fuse"
expect_contains "$ERR" "lacks virtiofs"
expect_contains "$ERR" "keeping $old"
[ "$(readlink "$kernels/current")" = old-bundle ] || fail "current moved although the install failed"
[ "$(cat written)" = ok ] || fail "the channel share did not write"
rm written

# 2. Online: a new bundle (with virtiofs) is installed beside the old one and used
#    (asked for explicitly: by default a sandbox that saves a memory snapshot shares over the channel).
MATCHLOCK_WORKSPACE_TRANSPORT=virtiofs run_ml run --trust -- sh -c "$show_mount"
expect_rc 0
expect_contains "$ERR" "lacks virtiofs"
expect_contains "$OUT" " /workspace virtiofs"
new=$(readlink -f "$kernels/current")
[ "$new" != "$old" ] && [ -d "$old" ] || fail "no new bundle beside the old one ($new)"
grep -q '"name": "virtiofs"' "$new/bundle.json" || fail "the new bundle has no virtiofs module"
[ "$(cat written)" = ok ] || fail "the virtio-fs share did not write"

# 3. Once: the next boot installs nothing.
run_ml run --trust -- true
expect_rc 0
case "$ERR" in *lacks*|*installing*) fail "installed again: $ERR" ;; esac
no_qemu_left
