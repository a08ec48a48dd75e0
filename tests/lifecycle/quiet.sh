# Quiet warm runs (issue 15 item 6): a `run -- true` that fetches and builds
# nothing prints nothing on stderr (one line at -v); the pull lines and
# "building rootfs" appear when something is fetched or built, and "building
# rootfs" only then; a warm `up -q` prints nothing at all, `up` only its summary;
# `run --rm TASK` (what CI runs, docs/ci.md) only the task's header line.
. "$(dirname "$0")/lib.sh"
# A private cache, so the first run really pulls and builds; the kernel bundle and
# the KVM probe come from the shared VM test cache (no apt-get download here).
shared="$XDG_CACHE_HOME/matchlock"
export XDG_CACHE_HOME="$TEST_TMP/cache"
mkdir -p "$XDG_CACHE_HOME/matchlock"
ln -s "$shared/kernels" "$XDG_CACHE_HOME/matchlock/kernels"
[ -f "$shared/accel-probe.json" ] && cp "$shared/accel-probe.json" "$XDG_CACHE_HOME/matchlock/"
write_matchlockfile quiet ""

# 1. Cold: the image is pulled and its rootfs built, and stderr says so.
run_ml run --rm -- true
expect_rc 0
expect_contains "$ERR" "resolved to"
expect_contains "$ERR" "downloading"
expect_contains "$ERR" "building rootfs"

# 2. Warm: nothing fetched or built, nothing on stderr.
run_ml run --rm -- true
expect_rc 0
[ -z "$ERR" ] || fail "a warm run printed on stderr: $ERR"

# 3. Warm with -v: one line about the image, none of the pull lines.
run_ml -v run --trust --rm -- true
expect_rc 0
[ "$(printf '%s\n' "$ERR" | grep -c "cached image and rootfs")" = 1 ] || fail "-v: expected one image line: $ERR"
case "$ERR" in *"resolved to"*|*"already present"*|*"building rootfs"*|*pulled*) fail "-v on a warm run: $ERR" ;; esac

# 4. Only the rootfs is missing: "building rootfs" (with what it is built from), no download.
rm -f "$XDG_CACHE_HOME"/matchlock/rootfs/*
run_ml run --rm -- true
expect_rc 0
expect_contains "$ERR" "building rootfs"
expect_contains "$ERR" "already present"
case "$ERR" in *downloading*) fail "nothing was to be downloaded: $ERR" ;; esac

# 5. up: warm `up -q` prints nothing at all; `up` prints its summary on stdout only.
run_ml up -q
expect_rc 0
[ -z "$ERR" ] || fail "up -q printed on stderr: $ERR"
[ -z "$OUT" ] || fail "up -q printed on stdout: $OUT"
run_ml down quiet
expect_rc 0
run_ml up
expect_rc 0
[ -z "$ERR" ] || fail "a warm up printed on stderr: $ERR"
expect_contains "$OUT" "sandbox  quiet (started)"
run_ml down quiet
expect_rc 0

# 6. run --rm TASK, warm: the task's header line, then the task's own output on stdout.
printf '\n[tasks.check]\nrun = "echo check-ran"\n' >>"$PROJ/Matchlockfile"
run_ml run --rm check
expect_rc 0
[ "$ERR" = "matchlock: ==> task check" ] || fail "run --rm TASK on a warm cache printed: $ERR"
[ "$OUT" = "check-ran" ] || fail "run --rm TASK stdout: $OUT"
no_qemu_left
