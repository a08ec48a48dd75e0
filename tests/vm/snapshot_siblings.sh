# Memory snapshots (issue 14): two sandboxes resumed from ONE snapshot share nothing
# that must be unique (docs/threat-model.md, "Memory snapshots"): their /dev/urandom
# output, their secret placeholders and their sandbox CA keys differ (from each other
# and from the sandbox that saved the snapshot), and each has its own hostname.
. "$(dirname "$0")/../lifecycle/lib.sh"
. "$(dirname "$0")/snapshot_lib.sh"
MEM=560
snap_forget $MEM
export ML_TEST_TOKEN="real-$RANDOM$RANDOM"
cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "sib"
[sandbox]
image = "$BUSYBOX"
cpus = 1
memory = "${MEM}MiB"
disk = "256MiB"
workdir = "/root"

[network]
allow = ["allowed.test"]

[secrets.TOKEN]
from = "env:ML_TEST_TOKEN"
hosts = ["secret.test"]
TOML
PROBE='echo "rand=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n")"; echo "ca=$(sha256sum </etc/matchlock/ca.pem | cut -c1-64)"; echo "token=$TOKEN"; echo "host=$(hostname)"'
val() { printf '%s\n' "$OUT" | sed -n "s/^$1=//p"; }

snap_run -- sh -c "$PROBE"   # cold, saves the snapshot
expect_rc 0
expect_boot saved
declare -A rand ca token
rand[saver]=$(val rand); ca[saver]=$(val ca); token[saver]=$(val token)
for s in one two; do
  run_ml up --name "sib-$s"
  expect_rc 0
  case "$(record_field "sib-$s" snapshot)" in "resumed from memory snapshot"*) ;; *) fail "sib-$s did not resume: $(record_field "sib-$s" snapshot)" ;; esac
  run_ml exec "sib-$s" -- sh -c "$PROBE"
  expect_rc 0
  rand[$s]=$(val rand); ca[$s]=$(val ca); token[$s]=$(val token)
  [ "$(val host)" = sib ] || fail "hostname: $(val host)"  # the Matchlockfile's name, set again on resume
done
for k in saver one two; do
  [ ${#rand[$k]} -eq 64 ] || fail "no random bytes from $k: '${rand[$k]}'"
  [ ${#ca[$k]} -eq 64 ] || fail "no CA from $k: '${ca[$k]}'"
  case "${token[$k]}" in MATCHLOCK_SECRET_*) ;; *) fail "no placeholder in $k: '${token[$k]}'" ;; esac
done
[ "${rand[one]}" != "${rand[two]}" ] && [ "${rand[one]}" != "${rand[saver]}" ] && [ "${rand[two]}" != "${rand[saver]}" ] ||
  fail "/dev/urandom repeats between siblings: ${rand[*]}"
[ "${ca[one]}" != "${ca[two]}" ] && [ "${ca[one]}" != "${ca[saver]}" ] || fail "siblings share a CA: ${ca[*]}"
[ "${token[one]}" != "${token[two]}" ] && [ "${token[one]}" != "${token[saver]}" ] || fail "siblings share a placeholder: ${token[*]}"
# The snapshot's RAM is mapped private: a resumed guest that writes all over its memory
# never changes the file its siblings resume from.
ram=$(for d in "$XDG_CACHE_HOME"/matchlock/snapshots/*/; do grep -q "\"memory_mib=$MEM\"" "$d/meta.json" 2>/dev/null && echo "$d/ram"; done | head -1 || true)
[ -f "$ram" ] || fail "no snapshot ram file for memory_mib=$MEM"
before=$(sha256sum <"$ram")
run_ml exec sib-one -- sh -c 'mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm 2>/dev/null; dd if=/dev/urandom of=/dev/shm/fill bs=1M count=96 2>/dev/null; echo filled'
expect_rc 0
expect_contains "$OUT" filled
[ "$(sha256sum <"$ram")" = "$before" ] || fail "a resumed guest's writes reached the snapshot's ram file"
for s in one two; do run_ml down "sib-$s"; expect_rc 0; done
no_qemu_left
snap_forget $MEM
