# Helpers for the memory snapshot tests (tests/vm/snapshot_*.sh, label vm).
# The VM tests share one cache, so each test gives its sandbox a memory size no
# other test uses (a key of its own) and removes that key's snapshots first.

# snap_forget MEMORY_MIB: removes every snapshot in the shared cache saved for a guest of that RAM.
snap_forget() {
  local d
  for d in "$XDG_CACHE_HOME"/matchlock/snapshots/*/; do
    [ -f "$d/meta.json" ] && grep -q "\"memory_mib=$1\"" "$d/meta.json" && rm -rf "$d"
  done
  return 0
}

# snap_run ARGS...: `matchlock -v run --trust ARGS` ($OUT, $ERR, $RC); -v prints what the boot did.
snap_run() { capture_ml -v run --trust "$@"; }

# expect_boot KIND: the last snap_run's stderr says "resumed from memory snapshot" (resumed),
# "saved memory snapshot" (saved) or "booted cold" without saving (cold).
expect_boot() {
  case "$1" in
    resumed) expect_contains "$ERR" "resumed from memory snapshot" ;;
    saved) expect_contains "$ERR" "booted cold, saved memory snapshot" ;;
    cold)
      case "$ERR" in *"resumed from memory snapshot"*|*"saved memory snapshot"*) fail "expected a cold boot without a snapshot: $ERR" ;; esac
      expect_contains "$ERR" "booted cold" ;;
  esac
}
