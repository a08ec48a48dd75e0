# Memory snapshots after the `up` tasks (issue 14): the first `up` of a Matchlockfile with a
# cached task runs it, captures its layer, and then (while the sandbox keeps serving) saves
# the memory snapshot of the state the next boot has: a second VM booted with that layer.
# The second `up` resumes it: the cached task is skipped, its files are there, the task
# after it runs; the network policy (only the allowed name resolves), a secret's placeholder
# (never the value), exec, a TTY session, the read-write workspace mount and a snapshot-mode
# mount (host untouched, `diff` lists the guest's changes) work. A changed cached task never
# resumes the stale state: it runs again and the guest sees its new output; changing it
# back resumes the first state again.
. "$(dirname "$0")/../lifecycle/lib.sh"
. "$(dirname "$0")/snapshot_lib.sh"
MEM=576
snap_forget $MEM
nonce="$$-$(date +%s%N)"  # the VM tests share one cache: task layer keys of this run only
mkdir -p "$PROJ/ws" "$PROJ/src"
echo from-host >"$PROJ/ws/host.txt"
echo keep >"$PROJ/src/keep.txt"
REAL="real-token-$RANDOM$RANDOM"
export ML_TEST_TOKEN="$REAL"
matchlockfile() {  # matchlockfile VALUE: the cached task writes VALUE
  cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "afterup"
up = ["ready"]

[sandbox]
image = "$BUSYBOX"
cpus = 1
memory = "${MEM}MiB"
disk = "256MiB"
workdir = "/root"

[[mounts]]
source = "ws"
target = "/workspace"

[[mounts]]
source = "src"
target = "/src"
mode = "snapshot"

[network]
allow = ["allowed.test"]

[secrets.TOKEN]
from = "env:ML_TEST_TOKEN"
hosts = ["secret.test"]

[tasks.prepare]
run = "mkdir -p /opt/p && echo $1 > /opt/p/value && echo prepare-ran"
cache = true
env = { NONCE = "$nonce" }

[tasks.ready]
run = "echo value=\$(cat /opt/p/value) && echo ready-ran"
needs = ["prepare"]
TOML
}
LOG="$XDG_STATE_HOME/matchlock/sandboxes/afterup/supervisor.log"

# after_up_key: waits for the supervisor's line about the snapshot after the up tasks
# (a TCG boot in the background) and prints the 12-digit key it saved.
after_up_key() {
  local i line
  for i in $(seq 1 600); do
    line=$(grep "memory snapshot after the up tasks:" "$LOG" 2>/dev/null | tail -1)
    [ -n "$line" ] && break
    sleep 0.3
  done
  case "$line" in
    *"booted cold, saved memory snapshot "*) printf '%s\n' "$line" | sed 's/.*saved memory snapshot \([0-9a-f]\{12\}\).*/\1/' ;;
    *) fail "no snapshot after the up tasks: '${line:-nothing within 180 s}'" ;;
  esac
}
expect_resumed() {  # expect_resumed KEY12
  [ "$(record_field afterup snapshot)" = "resumed from memory snapshot $1" ] ||
    fail "up did not resume snapshot $1: $(record_field afterup snapshot)"
}

# 1. Nothing cached: both tasks run; the layer is captured; the snapshot is saved in the
#    background while the sandbox keeps serving.
matchlockfile one
run_ml up
expect_rc 0
expect_contains "$OUT" prepare-ran
expect_contains "$OUT" value=one
expect_contains "$ERR" "task prepare: cached layer saved"
run_ml exec afterup -- cat /opt/p/value
expect_rc 0
[ "$OUT" = one ] || fail "exec during the background save: '$OUT'"
key1=$(after_up_key)
[ -n "$key1" ] || fail "no key in: $(grep 'after the up tasks' "$LOG")"
run_ml down afterup
expect_rc 0
ls -d "$XDG_STATE_HOME"/matchlock/sandboxes/afterup/s.* 2>/dev/null && fail "the snapshot VM's state dir was left behind"

# 2. The second `up` resumes the state after the tasks.
run_ml up
expect_rc 0
expect_resumed "$key1"
expect_contains "$ERR" "==> task prepare (cached layer)"
case "$OUT" in *prepare-ran*) fail "the cached task ran again: $OUT" ;; esac
expect_contains "$OUT" value=one
expect_contains "$OUT" ready-ran
run_ml exec afterup -- sh -c 'cat /workspace/host.txt; echo from-guest >/workspace/guest.txt; cat /opt/p/value'
expect_rc 0
[ "$OUT" = "from-host
one" ] || fail "exec in the resumed sandbox: '$OUT'"
[ "$(cat "$PROJ/ws/guest.txt")" = from-guest ] || fail "the resumed guest's write did not reach the host"
run_ml exec afterup -- sh -c 'echo "token=${TOKEN%%_*}"
  echo "allowed: $(wget -qO- http://allowed.test/ 2>&1)"
  echo "denied: $(wget -qO- http://denied.test/ 2>&1)"'
expect_rc 0
expect_contains "$OUT" token=MATCHLOCK
# Only the allowed name resolves (nothing listens behind it here: its request fails later).
# (Not `wget -T`: busybox 1.35's wget crashes with it, cold or resumed.)
expect_contains "$OUT" "denied: wget: bad address 'denied.test'"
case "$OUT" in *"bad address 'allowed.test'"*) fail "the allowed name does not resolve in the resumed guest: $OUT" ;; esac
case "$OUT$ERR" in *"$REAL"*) fail "the real secret value reached the resumed guest" ;; esac
run_ml exec afterup -- sh -c 'cat /src/keep.txt && echo guest >/src/new.txt && echo more >>/src/keep.txt'
expect_rc 0
[ "$OUT" = keep ] || fail "snapshot mount in the resumed sandbox: '$OUT'"
[ "$(cat "$PROJ/src/keep.txt")" = keep ] && [ ! -e "$PROJ/src/new.txt" ] || fail "a snapshot-mode write reached the host"
run_ml diff afterup
expect_rc 0
[ "$(printf '%s\n' "$OUT" | sort | tr '\n' ' ')" = "A new.txt M keep.txt " ] || fail "diff of the snapshot mount: '$OUT'"
# A TTY session: the size the terminal has, the exit code back.
PYTHONPATH="$(dirname "$0")" python3 - "$MATCHLOCK" <<'PY' || fail "TTY session in the resumed sandbox failed"
import sys
from pty_session import Session
s = Session([sys.argv[1], "exec", "-t", "afterup", "--", "sh", "-i"], rows=31, cols=97)
s.expect("# ", timeout=120)
s.send("stty size; exit 5\r")
s.expect("31 97", timeout=120)
code = s.wait()
if code != 5:
    sys.exit("exec -t exit code %d" % code)
PY
# Nothing new to save: the state's snapshot exists.
grep -q "memory snapshot after the up tasks" "$LOG" && fail "a resumed up with nothing captured saved again: $(cat "$LOG")"
run_ml down afterup
expect_rc 0

# 3. A changed cached task: never the stale state.
matchlockfile two
run_ml up
expect_rc 0
[ "$(record_field afterup snapshot)" = "resumed from memory snapshot $key1" ] && fail "a changed task resumed the stale snapshot"
expect_contains "$OUT" prepare-ran
expect_contains "$OUT" value=two
key2=$(after_up_key)
[ -n "$key2" ] || fail "no key in: $(grep 'after the up tasks' "$LOG")"
[ "$key2" != "$key1" ] || fail "the changed task's state has the old key $key1"
run_ml down afterup
expect_rc 0

# 4. Changed back: the first state's snapshot (and layer) are still there.
matchlockfile one
run_ml up
expect_rc 0
expect_resumed "$key1"
expect_contains "$OUT" value=one
run_ml down afterup
expect_rc 0
no_qemu_left
snap_forget $MEM
