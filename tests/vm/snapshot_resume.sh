# Memory snapshots (issue 14): the first `run` of a Matchlockfile boots cold and saves
# the VM; the second resumes it, and everything still works in the resumed guest: the
# network policy (an allowed host reached, a denied one not), a secret's placeholder
# injected toward its bound host, a read-write workspace mount (both directions), exec.
# `up` resumes too and its record says so. Never stale: a changed Matchlockfile
# (cpus), kernel or QEMU version string boots cold; --no-snapshot and
# [sandbox] snapshot = false boot cold without saving, `run TASK --no-snapshot` too.
. "$(dirname "$0")/net_prelude.sh"
. "$(dirname "$0")/snapshot_lib.sh"
net_upstream http
net_upstream https tls
MEM=544
snap_forget $MEM

REAL="real-token-$RANDOM$RANDOM-value"
export ML_TEST_TOKEN="$REAL"
mkdir -p "$PROJ/ws"
echo from-host >"$PROJ/ws/host.txt"
matchlockfile() {  # matchlockfile [CPUS] [EXTRA_SANDBOX_TOML]
  cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "snapvm"
[sandbox]
image = "$ML_REG_ANON/matchlock/debian:latest"
cpus = ${1:-1}
memory = "${MEM}MiB"
disk = "256MiB"
workdir = "/root"
${2:-}

[[mounts]]
source = "ws"
target = "/workspace"

[network]
allow = ["allowed.test"]
block_private = false        # the test upstreams listen on 127.0.0.1
ca = "$TEST_TMP/ca.pem"

[secrets.TOKEN]
from = "env:ML_TEST_TOKEN"
hosts = ["secret.test"]
inject = ["header"]

[tasks.hello]
run = "echo hello-task"
TOML
}
matchlockfile

snap_run -- true
expect_rc 0
expect_boot saved

read -r -d '' GUEST <<'EOS' || true
set +e
c() { curl -sS --max-time 30 "$@"; }
echo "http_allowed=$(c -o /dev/null -w '%{http_code}' "http://allowed.test:$HP/hello")"
c -o /dev/null "http://denied.test:$HP/" 2>/dev/null; echo "denied_name_rc=$?"
echo "secret_placeholder=${TOKEN%%_*}"
echo "secret_mitm=$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "https://secret.test:$SP/secret")"
echo "host_file=$(cat /workspace/host.txt)"
echo from-guest >/workspace/guest.txt && echo "wrote=yes"
echo "hostname=$(hostname)"
EOS
snap_run -e HP="$UP_http" -e SP="$UP_https" -- bash -c "$GUEST"
expect_rc 0
expect_boot resumed
expect_line http_allowed 200
expect_line denied_name_rc 6
expect_line secret_placeholder MATCHLOCK
expect_line secret_mitm 200
expect_line host_file from-host
expect_line wrote yes
expect_line hostname snapvm
[ "$(cat "$PROJ/ws/guest.txt")" = from-guest ] || fail "the guest's write did not reach the host"
grep -q "Bearer $REAL" "$TEST_TMP/https.log" || fail "upstream did not get the real secret: $(cat "$TEST_TMP/https.log")"
case "$OUT$ERR" in *"$REAL"*) fail "the real secret value reached the guest" ;; esac

# `up` resumes the same snapshot; exec works; the record says how it booted.
run_ml up
expect_rc 0
[ "$(record_field snapvm snapshot)" = "resumed from memory snapshot $(ls "$XDG_CACHE_HOME/matchlock/snapshots" | while read -r k; do grep -q "\"memory_mib=$MEM\"" "$XDG_CACHE_HOME/matchlock/snapshots/$k/meta.json" 2>/dev/null && echo "${k:0:12}"; done | head -1)" ] ||
  fail "up did not resume: $(record_field snapvm snapshot)"
run_ml exec -- sh -c 'cat /workspace/host.txt; uname -r'
expect_rc 0
expect_contains "$OUT" from-host
run_ml down
expect_rc 0

# Never stale. A changed Matchlockfile (cpus):
matchlockfile 2
snap_run -- true
expect_rc 0
expect_boot saved
matchlockfile 1
snap_run -- true
expect_boot resumed
# Another kernel (the same files in another bundle directory):
cp -r "$(readlink -f "$XDG_CACHE_HOME/matchlock/kernels/current")" "$TEST_TMP/kernel-copy"
matchlockfile 1 "kernel = \"$TEST_TMP/kernel-copy\""
snap_run -- true
expect_rc 0
expect_boot saved
# Another QEMU version string (a wrapper that reports another version):
matchlockfile 1
real_qemu=$(command -v qemu-system-x86_64)
printf '#!/bin/sh\n[ "$1" = --version ] && { echo "QEMU emulator version 7.2.99 (snapshot test)"; exit 0; }\nexec %s "$@"\n' "$real_qemu" >"$TEST_TMP/qemu"
chmod +x "$TEST_TMP/qemu"
MATCHLOCK_QEMU="$TEST_TMP/qemu" snap_run -- true
expect_rc 0
expect_boot saved
# Turned off: the flag and the Matchlockfile field boot cold and save nothing.
snap_run --no-snapshot -- true
expect_rc 0
expect_boot cold
matchlockfile 1 "snapshot = false"
snap_run -- true
expect_rc 0
expect_boot cold
# `run TASK` boots through the supervisor: --no-snapshot reaches it.
matchlockfile 1
run_ml run --no-snapshot hello
expect_rc 0
expect_contains "$OUT" hello-task
[ "$(record_field snapvm snapshot)" = "booted cold" ] || fail "run --no-snapshot TASK: $(record_field snapvm snapshot)"
run_ml down
expect_rc 0
no_qemu_left
snap_forget $MEM
