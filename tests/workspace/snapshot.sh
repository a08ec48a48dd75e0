# Snapshot mounts end to end (label vm): one `up` of the Debian image with
# src/ as a mode = "snapshot" mount at /workspace. The guest adds, modifies and
# deletes files and directories (and replaces one: an opaque overlay dir); the host directory stays byte-identical;
# `matchlock diff` lists exactly the A/M/D changes; `export --to` a copy of the
# share and `export --patch` applied with `patch -p1` to another copy both give
# the guest's view.
. "$(dirname "$0")/../lifecycle/lib.sh"
rig_need_debian
DEBIAN="$ML_REG_ANON/matchlock/debian:latest"
SRC="$PROJ/src"
mkdir -p "$SRC/dir" "$SRC/gone/sub" "$SRC/re"
echo old >"$SRC/re/old.txt"
echo same >"$SRC/re/same.txt"
echo keep >"$SRC/keep.txt"
printf 'line1\nline2\n' >"$SRC/mod.txt"
echo del >"$SRC/del.txt"
echo a >"$SRC/dir/a.txt"
echo b >"$SRC/dir/b.txt"
echo x >"$SRC/gone/sub/x.txt"
cp -a "$SRC" "$TEST_TMP/pristine"
cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "snap"

[sandbox]
image = "$DEBIAN"
cpus = 2
memory = "1GiB"
disk = "1GiB"
workdir = "/workspace"

[[mounts]]
source = "src"
target = "/workspace"
mode = "snapshot"
TOML

tree_sum() { (cd "$1" && find . -mindepth 1 -printf '%y %p\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

t0=$(date +%s%N)
run_ml up
expect_rc 0
echo "up: $(( ($(date +%s%N) - t0) / 1000000 )) ms"

# 1. The guest reads the share and changes it.
run_ml exec -- sh -c '
  cd /workspace
  cat keep.txt
  echo new >new.txt
  mkdir newdir && echo n >newdir/n.txt
  echo line3 >>mod.txt
  rm del.txt
  rm -r gone
  echo c >dir/c.txt
  rm dir/b.txt
  rm -r re && mkdir re && echo changed >re/same.txt && echo y >re/y.txt
  ls /workspace | tr "\n" " "'
expect_rc 0
expect_contains "$OUT" "keep"
expect_contains "$OUT" "new.txt"

# 2. The host directory did not change.
[ "$(tree_sum "$SRC")" = "$(tree_sum "$TEST_TMP/pristine")" ] || fail "the host share changed: $(diff -r "$SRC" "$TEST_TMP/pristine")"

# 3. diff lists exactly the changes.
t0=$(date +%s%N)
run_ml diff snap
expect_rc 0
echo "diff: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
got=$(printf '%s\n' "$OUT" | sort)
want=$(printf '%s\n' "A dir/c.txt" "A new.txt" "A newdir" "A newdir/n.txt" "D del.txt" "D dir/b.txt" "D gone" "M mod.txt" "D re/old.txt" "M re/same.txt" "A re/y.txt" | sort)
[ "$got" = "$want" ] || fail "diff: got
$got
want
$want"
run_ml diff snap --json
expect_rc 0
expect_contains "$OUT" '"kind": "M"'
expect_contains "$OUT" '"path": "mod.txt"'

# The guest's view of the mount, to compare exports with.
run_ml exec -- sh -c 'cd /workspace && find . -mindepth 1 -printf "%y %p\n" | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum'
expect_rc 0
guest_view=$OUT

# 4. export --to a copy of the share reproduces the guest's view.
cp -a "$SRC" "$TEST_TMP/exported"
t0=$(date +%s%N)
run_ml export snap --to "$TEST_TMP/exported"
expect_rc 0
echo "export --to: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
expect_contains "$OUT" "M mod.txt"
[ "$(tree_sum "$TEST_TMP/exported")" = "$guest_view" ] || fail "export --to differs from the guest:
$(tree_sum "$TEST_TMP/exported")
guest:
$guest_view"

# 5. export --patch applies with patch -p1 to a copy of the share.
t0=$(date +%s%N)
run_ml export snap --patch "$TEST_TMP/changes.patch"
expect_rc 0
echo "export --patch: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
expect_contains "$(cat "$TEST_TMP/changes.patch")" "+line3"
cp -a "$SRC" "$TEST_TMP/patched"
(cd "$TEST_TMP/patched" && patch -s -p1 -E <"$TEST_TMP/changes.patch") || fail "patch -p1 failed"
# patch cannot create empty directories: compare files and their contents only.
files_sum() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
guest_files=$(printf '%s\n' "$guest_view" | grep -v '^[a-z] ')
[ "$(files_sum "$TEST_TMP/patched")" = "$guest_files" ] || fail "patched tree differs from the guest:
$(files_sum "$TEST_TMP/patched")
guest:
$guest_files"
[ ! -e "$TEST_TMP/patched/gone/sub/x.txt" ] || fail "patch kept a deleted file"

# 6. Clear errors.
run_ml export snap
[ "$RC" -ne 0 ] || fail "export without --to/--patch succeeded"
expect_contains "$ERR" "--to"
run_ml diff nosuch
[ "$RC" -ne 0 ] || fail "diff of a missing sandbox succeeded"
expect_contains "$ERR" "no sandbox 'nosuch'"
[ "$(tree_sum "$SRC")" = "$(tree_sum "$TEST_TMP/pristine")" ] || fail "the host share changed after the exports"

run_ml down snap
expect_rc 0
run_ml diff snap
[ "$RC" -ne 0 ] || fail "diff of a stopped sandbox succeeded"
expect_contains "$ERR" "snap"
