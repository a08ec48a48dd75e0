# Helpers of the bench/snapshot scripts: the matchlock binary, the debian test image, and
# this bench's memory snapshots (a RAM size no test uses: the bench's key is its own).
#   . lib.sh; bench_snapshot_init NAME MEMORY_MIB   (sets ml, root, images, snapdir)
bench_snapshot_init() {
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  root="$here/../.."
  ml="${MATCHLOCK:-$root/build/matchlock}"
  [ -x "$ml" ] || { echo "bench/snapshot/$1: $ml not built" >&2; exit 2; }
  bench_mem=$2
  images="${MATCHLOCK_BENCH_IMAGES:-$root/.matchlock-example/images}"
  python3 "$root/tests/rig/make_image.py" --out "$images" debian >/dev/null
  snapdir="${XDG_CACHE_HOME:-$HOME/.cache}/matchlock/snapshots"
}

# forget: removes this bench's memory snapshots.
forget() {
  local d
  for d in "$snapdir"/*/; do
    [ -f "$d/meta.json" ] && grep -q "\"memory_mib=$bench_mem\"" "$d/meta.json" && rm -rf "$d"
  done
  return 0
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
