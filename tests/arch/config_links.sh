# The config library (engine/CMakeLists.txt: the Matchlockfile, its lock, machine policy,
# trust) links no runtime: each test executable given, built on it alone, must not load
# libcurl, libgit2, libarchive, libext2fs or libssl (TLS), and must not contain the VMM,
# network stack, registry client or file server (their symbols).
set -euo pipefail
. "$(dirname "$0")/../lib/report.sh"
[ $# -gt 0 ] || fail "usage: config_links.sh EXECUTABLE..."
for exe in "$@"; do
  [ -x "$exe" ] || fail "missing $exe"
  libs=$(ldd "$exe")
  for lib in libcurl libgit2 libarchive libext2fs libssl; do
    if grep -q "$lib" <<<"$libs"; then fail "$(basename "$exe") loads $lib:"$'\n'"$libs"; fi
  done
  syms=$(nm -C "$exe" | grep -E ' [TtWw] ' || true)
  for ns in 'backends::qemu::' 'net::Stack' 'net::Proxy' 'oci::RegistryClient' 'workspace::FileServer' 'engine::run_sandbox'; do
    if grep -q "$ns" <<<"$syms"; then fail "$(basename "$exe") contains $ns"; fi
  done
  echo "ok: $(basename "$exe") links only the config library ($(wc -l <<<"$libs") shared objects)"
done
