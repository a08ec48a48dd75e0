#!/usr/bin/env bash
# bench/workspace: our share (virtio-fs served by our vhost-user backend; the
# FUSE-over-channel transport with MATCHLOCK_WORKSPACE_TRANSPORT=channel) vs
# QEMU's virtio-9p, all attached to the SAME VM in the same run: sequential
# write and read of MIB (default 1024) and a tree of FILES (default 10000)
# small files created, then walked (find + ls -lR, cold caches). Our share is
# measured twice: the default `cache = "auto"` (guest page cache for reads) and
# `cache = "none"` (direct I/O, what 9p's default cache=none does). Prints MB/s
# and ms per side and the ratios ours/9p (for times: 9p/ours), so >= 1.0 means
# we are at least as fast. Not a ctest.
#   bench/workspace/run.sh [MIB] [FILES]
# Env: MATCHLOCK (default build/matchlock), BENCH_CACHE (default /var/tmp/matchlock-bench:
# the generic kernel .deb and the busybox image, kept between runs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
ml="${MATCHLOCK:-$root/build/matchlock}"
[ -x "$ml" ] || { echo "bench/workspace: $ml not found (set MATCHLOCK)" >&2; exit 2; }
mib=${1:-1024}
files=${2:-10000}
cache="${BENCH_CACHE:-/var/tmp/matchlock-bench}"
mkdir -p "$cache"
work=$(mktemp -d /tmp/ml-bench-ws.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Debian's cloud kernel (matchlock's default) has no 9p modules; the generic
# kernel has them. Both shares are measured under that one kernel.
pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
deb=$(ls "$cache"/"$pkg"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
  echo "bench/workspace: downloading $pkg (apt-get download; the cloud kernel ships no 9p)" >&2
  (cd "$cache" && apt-get download "$pkg" >/dev/null 2>&1)
  deb=$(ls "$cache"/"$pkg"_*.deb | head -1)
fi
# The generic kernel builds ext4 (and the crc32c it needs) as modules; the cloud kernel has them built in.
modules="virtio_mmio virtio_blk virtio_console virtio_net crc32c_generic ext4 overlay fuse virtiofs 9p 9pnet_virtio"
bundle="$cache/bundle-${pkg}-$(echo "$modules" | sha256sum | cut -c1-8)"
# shellcheck disable=SC2086
[ -f "$bundle/bundle.json" ] || python3 "$here/make_bundle.py" "$deb" "$bundle" $modules >&2
[ -f "$cache/images/busybox/index.json" ] || python3 "$root/tests/rig/make_image.py" --out "$cache/images" busybox >&2

mkdir -p "$work/proj" "$work/share-fuse" "$work/share-direct" "$work/share-9p" "$work/xdg/cache" "$work/xdg/state" "$work/xdg/config"
cp "$here/guest_bench.sh" "$work/share-9p/guest_bench.sh"
cat >"$work/proj/Matchlockfile" <<TOML
version = 1
name = "bench-workspace"

[sandbox]
image = "oci-layout:$cache/images/busybox"
kernel = "$bundle"
cpus = 2
memory = "1GiB"
disk = "4GiB"
workdir = "/"

[[mounts]]
source = "$work/share-fuse"
target = "/workspace"
mode = "rw"

[[mounts]]
source = "$work/share-direct"
target = "/direct"
mode = "rw"
cache = "none"
TOML

export XDG_CACHE_HOME="$work/xdg/cache" XDG_STATE_HOME="$work/xdg/state" XDG_CONFIG_HOME="$work/xdg/config"
export MATCHLOCK_BENCH_9P="$work/share-9p"
echo "bench/workspace: $mib MiB sequential, $files files; kernel $pkg; host $(nproc) cpus" >&2
guest='
mkdir -p /mnt/9p
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 bench9p /mnt/9p || { echo "RESULT 9p error=mount"; exit 1; }
grep " /mnt/9p " /proc/mounts | sed "s/^/MOUNT /"
if grep -q " /workspace \(virtiofs\|fuse\)" /proc/mounts; then
  grep " /workspace \| /direct " /proc/mounts | sed "s/^/MOUNT /"
  set -- fuse=/workspace direct=/direct 9p=/mnt/9p
else
  echo "RESULT fuse error=not-mounted"
  echo "RESULT direct error=not-mounted"
  set -- 9p=/mnt/9p
fi
sh /mnt/9p/guest_bench.sh '"$mib $files"' "$@"
'
out=$(cd "$work/proj" && "$ml" run --trust -- sh -c "$guest" 2>"$work/err") || {
  echo "bench/workspace: matchlock run failed:" >&2; cat "$work/err" >&2; echo "$out" >&2; exit 1; }
printf '%s\n' "$out" | grep '^MOUNT' >&2 || true

field() { printf '%s\n' "$out" | awk -v n="$1" -v k="$2" '$1 == "RESULT" && $2 == n { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }'; }
mbps() { awk -v m="$mib" -v t="$1" 'BEGIN { if (t > 0) printf "%.1f", m * 1.048576 / (t / 1000); else print "n/a" }'; }
for side in fuse direct 9p; do
  if [ -n "$(field "$side" error)" ]; then
    echo "$side: $(field "$side" error)"
    continue
  fi
  printf '%-6s write %8s MB/s  read %8s MB/s  create %6s ms  walk %6s ms  (%s files)\n' "$side" \
    "$(mbps "$(field "$side" write_ms)")" "$(mbps "$(field "$side" read_ms)")" "$(field "$side" create_ms)" \
    "$(field "$side" walk_ms)" "$(field "$side" files)"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "n/a" }'; }
for side in fuse direct; do
  if [ -z "$(field $side error)" ] && [ -z "$(field 9p error)" ]; then
    label=$([ $side = fuse ] && echo 'cache=auto' || echo 'cache=none')
    echo "ratios ours($label)/9p (>= 1.0: ours at least as fast):" \
      "write $(ratio "$(field $side write_ms)" "$(field 9p write_ms)")" \
      "read $(ratio "$(field $side read_ms)" "$(field 9p read_ms)")" \
      "create $(ratio "$(field $side create_ms)" "$(field 9p create_ms)")" \
      "walk $(ratio "$(field $side walk_ms)" "$(field 9p walk_ms)")"
  fi
done
