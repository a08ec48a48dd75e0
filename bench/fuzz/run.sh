#!/usr/bin/env bash
# Fuzzes every libFuzzer target (tests/fuzz/*_fuzz.cpp, docs/fuzzing.md) for a number of
# executions, one target at a time under `nice`, with ASan + UBSan
# (-fno-sanitize-recover=undefined: any undefined behaviour stops the run as a crash).
#
#   bench/fuzz/run.sh [-runs=N] [--merge] [TARGET...]
#     -runs=N   executions per target (default 1000000)
#     --merge   fold what the run found into tests/fuzz/corpus/TARGET: the seed-* files stay,
#               the rest is the smallest set (libFuzzer -set_cover_merge=1, edge coverage)
#               covering old and new inputs
#     TARGET    dns stack ... (default: all)
#   FUZZ_JOBS   build jobs (default 2)
#
# Builds into build-fuzz (clang, -DMATCHLOCK_FUZZ=ON). Prints per target: executions,
# exec/s, crashes, new corpus files (and the corpus size after --merge). Crash, leak, timeout
# and OOM inputs are kept in build-fuzz/fuzz-run/TARGET/artifacts; the run log beside them.
# Exits 1 if any target crashed.
set -euo pipefail
cd "$(dirname "$0")/../.."

runs=1000000
merge=0
targets=()
for a in "$@"; do
  case "$a" in
    -runs=*) runs=${a#-runs=} ;;
    --merge) merge=1 ;;
    -*) echo "bench/fuzz/run.sh: unknown option $a" >&2; exit 2 ;;
    *) targets+=("$a") ;;
  esac
done
all=(dns stack tls_sni http_request http_response http_chunked protocol_host protocol_agent workspace virtqueue
     oci_manifest oci_layer config lockfile)
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

# The longest input libFuzzer makes of each target (seeds beyond it are cut when fuzzed;
# the corpus replay in ctest runs them whole).
max_len() {
  case "$1" in
    oci_layer | protocol_host | protocol_agent) echo 65536 ;;
    virtqueue) echo 32780 ;;
    config | workspace) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

command -v clang++ >/dev/null || { echo "bench/fuzz/run.sh: clang++ not found (scripts/install-deps)" >&2; exit 2; }
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DMATCHLOCK_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
bins=()
for t in "${targets[@]}"; do bins+=("${t}_fuzz"); done
nice -n 10 cmake --build build-fuzz -j"${FUZZ_JOBS:-2}" --target "${bins[@]}" >/dev/null

work=build-fuzz/fuzz-run
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
printf "%-15s %11s %8s %8s %10s %8s %s\n" target executions exec/s crashes new_files corpus seconds
for t in "${targets[@]}"; do
  seeds=tests/fuzz/corpus/$t
  dir=$work/$t
  rm -rf "$dir"
  mkdir -p "$dir/new" "$dir/artifacts"
  start=$(date +%s)
  set +e
  nice -n 10 "build-fuzz/tests/${t}_fuzz" -runs="$runs" -max_len="$(max_len "$t")" -timeout=30 -rss_limit_mb=3072 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/new" "$seeds" >"$dir/log" 2>&1
  rc=$?
  set -e
  secs=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  crashes=$(find "$dir/artifacts" -type f | wc -l)
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi  # died without writing an artifact
  new=$(find "$dir/new" -type f | wc -l)
  size=$(find "$seeds" -type f | wc -l)
  if [ "$merge" = 1 ] && [ "$crashes" -eq 0 ] && [ "$new" -gt 0 ]; then
    # The seeds stay; everything else is re-minimised over seeds + old + new by edge
    # coverage (-use_counters=0), which keeps the checked-in corpus small.
    rm -rf "$dir/merged"
    mkdir -p "$dir/merged" "$dir/old"
    find "$seeds" -type f -name 'seed-*' -exec cp {} "$dir/merged/" \;
    find "$seeds" -type f ! -name 'seed-*' -exec cp {} "$dir/old/" \;
    nice -n 10 "build-fuzz/tests/${t}_fuzz" -set_cover_merge=1 -use_counters=0 -max_len="$(max_len "$t")" \
      "$dir/merged" "$dir/old" "$dir/new" >"$dir/merge.log" 2>&1
    find "$seeds" -type f ! -name 'seed-*' -delete
    find "$dir/merged" -type f ! -name 'seed-*' -exec cp {} "$seeds/" \;
    size=$(find "$seeds" -type f | wc -l)
  fi
  printf "%-15s %11s %8s %8s %10s %8s %s\n" "$t" "${execs:-0}" "${speed:-0}" "$crashes" "$new" "$size" "$secs"
  if [ "$crashes" -ne 0 ]; then
    failed+=("$t")
    grep -m1 -E "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz invariant failed" "$dir/log" | sed 's/^/    /' || true
    find "$dir/artifacts" -type f | sed 's/^/    artifact: /'
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "bench/fuzz/run.sh: crashes in: ${failed[*]} (logs in $work/TARGET/log)" >&2
  exit 1
fi
