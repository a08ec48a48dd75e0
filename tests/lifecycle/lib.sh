# Helpers for sandbox lifecycle tests (label vm): the VM test environment
# (tests/vm/lib.sh: rig images, shared kernel cache) plus a project directory
# with a Matchlockfile, and a cleanup that stops every supervisor this test
# started (by the pid in its sandbox.json) before the temp dir goes.
. "$(dirname "${BASH_SOURCE[0]}")/../vm/lib.sh"
export MATCHLOCK_DISK_MIB=256

# A Matchlockfile's sandbox needs its policy approved (engine/trust.hpp) and tests have
# no TTY: `up` and `run` get --trust, like CI. Otherwise tests/cli/lib.sh's run_ml.
run_ml() {
  case "${1:-}" in up|run) local verb=$1; shift; set -- "$verb" --trust "$@" ;; esac
  capture_ml "$@"
}
PROJ="$TEST_TMP/proj"
mkdir -p "$PROJ"
cd "$PROJ"

lc_cleanup() {
  local rc=$? f pid
  if [ "$rc" -ne 0 ]; then
    for f in "$XDG_STATE_HOME"/matchlock/sandboxes/*/console.log "$XDG_STATE_HOME"/matchlock/sandboxes/*/supervisor.log; do
      [ -f "$f" ] && { echo "--- $f (tail)" >&2; tail -20 "$f" >&2; }
    done
  fi
  for f in "$XDG_STATE_HOME"/matchlock/sandboxes/*/sandbox.json; do
    [ -f "$f" ] || continue
    pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$f" 2>/dev/null || true)
    # Only our supervisors: the command line names this test's state dir.
    if [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q __supervise; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$TEST_TMP"
}
trap lc_cleanup EXIT

# write_matchlockfile NAME EXTRA_TOML [TOP_LEVEL_TOML]: a busybox sandbox with 1 cpu / 256 MiB.
write_matchlockfile() {
  cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "$1"
${3:-}

[sandbox]
image = "$BUSYBOX"
cpus = 1
memory = "512MiB"
disk = "256MiB"
workdir = "/root"

$2
TOML
}

# record_field NAME FIELD: a field of the sandbox's sandbox.json.
record_field() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$XDG_STATE_HOME/matchlock/sandboxes/$1/sandbox.json" "$2"
}
