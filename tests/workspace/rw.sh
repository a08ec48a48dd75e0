# Workspace mounts end to end (label vm): one `up` of the Debian image with a rw
# share of the project dir at /workspace and a ro share at /data, then execs:
# git in the share, 2000 small files, 64 MiB through the share (sha256 equal on
# both sides), host-side edits seen in the guest, exclude, read-only mounts and
# Matchlockfile, and every escape attempt (host symlinks to host files, `..`,
# rename/hardlink out of the share, a directory swapped for a symlink while the
# guest reads through it) confined; section 2b tries to reach excluded files
# by renaming, exchanging or linking their ancestors (label security). The shares travel over virtio-fs (our
# vhost-user backend); ctest runs this script a second time as
# workspace.rw_channel with MATCHLOCK_WORKSPACE_TRANSPORT=channel (FUSE pumped
# by the agent). A third mount has cache = "none" (direct I/O).
. "$(dirname "$0")/../lifecycle/lib.sh"
rig_need_debian
DEBIAN="$ML_REG_ANON/matchlock/debian:latest"
OUTSIDE="$TEST_TMP/outside"
mkdir -p "$OUTSIDE" "$PROJ/rodir" "$PROJ/node_modules" "$PROJ/race" "$PROJ/directdir"
echo "HOST-SECRET" >"$OUTSIDE/secret-host"
echo "HOST-OUTSIDE" >"$OUTSIDE/f"
echo "hello from host" >"$PROJ/hello.txt"
echo "TOKEN=do-not-show" >"$PROJ/.env"
echo "x" >"$PROJ/node_modules/x.js"
echo "ro data" >"$PROJ/rodir/file"
echo "inside" >"$PROJ/race/f"
ln -s "$OUTSIDE/secret-host" "$PROJ/out-link"
ln -s "$OUTSIDE" "$PROJ/outdir"
ln -s /etc/passwd "$PROJ/passwd-link"
# Excluded content behind visible ancestors (2b): one file per pattern shape.
mkdir -p "$PROJ/private/sub" "$PROJ/star/sub" "$PROJ/dir" "$PROJ/a/b" "$PROJ/empty"
echo "HOST-KEY-private" >"$PROJ/private/key.txt"
echo "HOST-KEY-deep" >"$PROJ/private/sub/deep.txt"
echo "HOST-KEY-star" >"$PROJ/star/one.txt"
echo "HOST-KEY-starsub" >"$PROJ/star/sub/two.txt"
echo "HOST-KEY-dirfile" >"$PROJ/dir/file"
echo "visible" >"$PROJ/dir/other"
echo "HOST-KEY-secret" >"$PROJ/a/b/secret.txt"
echo "HOST-KEY-top" >"$PROJ/top.key"
hidden_files="private/key.txt private/sub/deep.txt star/one.txt star/sub/two.txt dir/file a/b/secret.txt top.key"
hidden_sums=$(cd "$PROJ" && sha256sum $hidden_files)
cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "ws"

[sandbox]
image = "$DEBIAN"
cpus = 2
memory = "1GiB"
disk = "1GiB"
workdir = "/workspace"

[[mounts]]
source = "."
target = "/workspace"
mode = "rw"
exclude = [".env", "**/node_modules", "private/**", "star/*", "dir/file", "**/secret.txt", "*.key"]

[[mounts]]
source = "rodir"
target = "/data"
mode = "ro"

[[mounts]]
source = "directdir"
target = "/direct"
cache = "none"
TOML
mf_sum=$(sha256sum "$PROJ/Matchlockfile")

run_ml up
expect_rc 0

# 0. The transport: virtio-fs unless the environment asks for the channel.
case "${MATCHLOCK_WORKSPACE_TRANSPORT:-virtiofs}" in
  channel) fstype=fuse ;;
  *) fstype=virtiofs ;;
esac
run_ml exec -- sh -c 'grep -E " /(workspace|data|direct) " /proc/mounts'
expect_rc 0
for t in /workspace /data /direct; do
  grep -q " $t $fstype " <<<"$OUT" || fail "$t is not a $fstype mount: $OUT"
done
grep -q " /data $fstype ro," <<<"$OUT" || fail "/data is not mounted read-only: $OUT"

# 1. Reads, owner mapping, symlinks served as links (resolved in the guest, never on the host).
run_ml exec -- sh -c '
  cd /workspace
  cat hello.txt
  stat -c "owner=%u:%g" hello.txt
  echo "link=$(readlink out-link)"
  cat out-link 2>/dev/null && echo "READ-THROUGH-OUT-LINK"
  ls outdir/ 2>/dev/null && echo "LISTED-OUTDIR"
  cat outdir/secret-host 2>/dev/null && echo "READ-THROUGH-OUTDIR"
  cat passwd-link | head -1
  cat /workspace/../workspace/hello.txt
  cat /workspace/../../../..'"$OUTSIDE"'/secret-host 2>/dev/null && echo "DOTDOT-ESCAPE"
  true'
expect_rc 0
expect_contains "$OUT" "hello from host"
expect_contains "$OUT" "owner=0:0"
expect_contains "$OUT" "link=$OUTSIDE/secret-host"
expect_contains "$OUT" "root:x:0:0"   # the guest's own /etc/passwd
case "$OUT" in *HOST-SECRET*|*READ-THROUGH*|*LISTED-OUTDIR*|*DOTDOT-ESCAPE*) fail "escaped the share: $OUT" ;; esac

# 2. exclude hides; ro mount and the Matchlockfile refuse writes.
run_ml exec -- sh -c '
  cd /workspace
  ls -a | grep -qx .env && echo "SHOWS-ENV"
  ls -a | grep -qx node_modules && echo "SHOWS-NODE-MODULES"
  cat .env 2>/dev/null && echo "READ-ENV"
  cat /data/file
  touch /data/new 2>/tmp/e1 && echo "RO-WRITABLE"; cat /tmp/e1
  echo x >>/data/file 2>/dev/null && echo "RO-APPENDED"
  echo x >>Matchlockfile 2>/dev/null && echo "MF-APPENDED"
  rm -f Matchlockfile 2>/dev/null; test -e Matchlockfile || echo "MF-REMOVED"
  mv Matchlockfile mf2 2>/dev/null && echo "MF-MOVED"
  echo "version = 666" >mf-new && mv -f mf-new Matchlockfile 2>/dev/null && echo "MF-REPLACED"
  rm -f mf-new; true'
expect_rc 0
expect_contains "$OUT" "ro data"
expect_contains "$OUT" "Read-only file system"
case "$OUT" in *SHOWS-*|*READ-ENV*|*RO-WRITABLE*|*RO-APPENDED*|*MF-*) fail "exclude/ro/Matchlockfile not enforced: $OUT" ;; esac
[ "$(sha256sum "$PROJ/Matchlockfile")" = "$mf_sum" ] || fail "Matchlockfile changed on the host"
[ "$(cat "$PROJ/rodir/file")" = "ro data" ] && [ ! -e "$PROJ/rodir/new" ] || fail "ro share changed on the host"

# 2b. The exclude barrier (issue 12 item 3): no rename, exchange, link or
# symlink reaches excluded content under another name. Renames are tried with
# mv (rename(2)) and, for RENAME_EXCHANGE, renameat2 through perl (syscall 316
# on x86-64; bookworm's coreutils has no mv --exchange).
run_ml exec -- sh -c '
  cd /workspace
  command -v perl >/dev/null || echo "NO-PERL"
  # Controls: the same mv and exchange work where nothing is excluded.
  mkdir -p c1 c2 && echo c >c1/m && mv c1 c3 && echo "CONTROL-MV-OK"
  perl -e "exit(syscall(316, -100, \$ARGV[0], -100, \$ARGV[1], 2) == 0 ? 0 : 1)" c3 c2 && test -e c2/m && echo "CONTROL-EXCHANGE-OK"
  rm -rf c2 c3
  for d in private star dir a a/b private/sub; do
    mv "$d" moved 2>/dev/null && echo "MOVED-$d" && ls -R moved && cat moved/* moved/*/* moved/*/*/* 2>/dev/null
    mv moved "$d" 2>/dev/null
    perl -e "exit(syscall(316, -100, \$ARGV[0], -100, \$ARGV[1], 2) == 0 ? 0 : 1)" empty "$d" && echo "EXCHANGED-$d"
    cat empty/* empty/*/* 2>/dev/null
  done
  cat private/key.txt star/one.txt star/sub/two.txt dir/file a/b/secret.txt top.key 2>/dev/null
  ln -s private/key.txt sl1; ln -s /workspace/star/one.txt sl2; ln -s ../workspace/dir/file sl3
  cat sl1 sl2 sl3 2>/dev/null
  ln private/key.txt hl 2>/dev/null && echo "HARDLINKED-private"
  mkdir q && echo planted >q/planted.txt
  mv q private/q 2>/dev/null && echo "MOVED-INTO-private"
  mv q star/q 2>/dev/null && echo "MOVED-INTO-star"
  ln q/planted.txt dir/file 2>/dev/null && echo "LINKED-INTO-dir/file"
  mv q/planted.txt new.key 2>/dev/null && echo "MOVED-INTO-key"
  cp q/planted.txt private/ 2>/dev/null && echo "COPIED-INTO-private"
  ls -aR . | grep -E "^(key.txt|deep.txt|one.txt|two.txt|sub|secret.txt|top.key)\$" | sed "s/^/LISTED-/"
  find . -name "*.key" -o -name secret.txt | sed "s/^/FOUND-/"
  ls -a dir | sed "s/^/IN-DIR-/"
  rm -rf q sl1 sl2 sl3; true'
expect_rc 0
expect_contains "$OUT" "IN-DIR-other"   # "dir/file" hides one name only
expect_contains "$OUT" "CONTROL-MV-OK"
expect_contains "$OUT" "CONTROL-EXCHANGE-OK"
case "$OUT" in
  *NO-PERL*) fail "the image has no perl for the RENAME_EXCHANGE check: $OUT" ;;
  *HOST-KEY*|*MOVED*|*EXCHANGED*|*LINKED*|*COPIED*|*LISTED-*|*FOUND-*|*IN-DIR-file*) fail "exclude barrier crossed: $OUT" ;;
esac
[ "$(cd "$PROJ" && sha256sum $hidden_files)" = "$hidden_sums" ] || fail "excluded host files changed or moved"
for x in moved hl q new.key private/q star/q private/planted.txt; do
  [ ! -e "$PROJ/$x" ] || fail "left $x on the host"
done
[ -d "$PROJ/empty" ] && [ -z "$(ls -A "$PROJ/empty")" ] || fail "empty/ changed on the host"

# 3. Moving and hard-linking out of the share stay in the guest.
run_ml exec -- sh -c '
  cd /workspace
  echo moved >m.txt && mv m.txt /root/m.txt && cat /root/m.txt
  ln /etc/passwd pw 2>/dev/null && echo "HARDLINKED-OUTSIDE"
  ln hello.txt hello-link && cat hello-link
  ln -s /etc/shadow shadow-link; readlink shadow-link
  true'
expect_rc 0
expect_contains "$OUT" "moved"
case "$OUT" in *HARDLINKED-OUTSIDE*) fail "hard link to a file outside the share: $OUT" ;; esac
[ ! -e "$PROJ/m.txt" ] && [ ! -e "$PROJ/pw" ] || fail "rename/link left files in the share"
[ "$(stat -c %i "$PROJ/hello.txt")" = "$(stat -c %i "$PROJ/hello-link")" ] || fail "hard link inside the share is not one inode"
[ "$(readlink "$PROJ/shadow-link")" = /etc/shadow ] || fail "guest symlink not stored as text"
[ "$(stat -c %u "$PROJ/hello-link")" = "$(id -u)" ] || fail "host ownership changed"

# 4. git in the share; a build (dpkg-deb, the toolchain minbase has) whose
# artifact is committed too; the host sees the commits and can use the artifact.
run_ml exec -- sh -c '
  set -e
  mkdir -p /workspace/repo && cd /workspace/repo
  git init -q -b main
  git config user.email t@example.com && git config user.name T
  printf "int main(){return 0;}\n" >main.c
  mkdir -p src && echo "a" >src/a.txt
  git add -A && git commit -q -m "first from the guest"
  echo "b" >>src/a.txt && git commit -q -am second
  mkdir -p pkg/DEBIAN pkg/usr/share/hello
  printf "Package: hello-ws\nVersion: 1.0\nArchitecture: all\nMaintainer: T <t@example.com>\nDescription: built in the share\n" >pkg/DEBIAN/control
  cp main.c src/a.txt pkg/usr/share/hello/
  dpkg-deb --root-owner-group -Zgzip --build pkg hello-ws.deb >/dev/null
  rm -r pkg && git add hello-ws.deb && git commit -q -m "build artifact"
  git status --porcelain | wc -l
  git log --oneline | wc -l'
expect_rc 0
[ "$OUT" = "0
3" ] || fail "git in the guest: $OUT"
dpkg-deb --field "$PROJ/repo/hello-ws.deb" Package | grep -qx hello-ws || fail "the guest-built package is unreadable on the host"
[ "$(dpkg-deb --fsys-tarfile "$PROJ/repo/hello-ws.deb" | tar -xO ./usr/share/hello/a.txt)" = "a
b" ] || fail "the guest-built package has the wrong contents"
[ "$(git -C "$PROJ/repo" log --format=%s | head -1)" = "build artifact" ] || fail "host does not see the guest's commit"
git -C "$PROJ/repo" fsck --no-progress >/dev/null 2>&1 || fail "git fsck on the host failed"

# 5. 2000 small files created, listed, removed; 64 MiB written and read back.
start=$(date +%s%N)
run_ml exec -- sh -c '
  set -e
  mkdir /workspace/many && cd /workspace/many
  i=0; while [ $i -lt 2000 ]; do echo $i >f$i; i=$((i+1)); done
  ls | wc -l
  cat f1999'
expect_rc 0
[ "$OUT" = "2000
1999" ] || fail "small files: $OUT"
[ "$(ls "$PROJ/many" | wc -l)" = 2000 ] || fail "host sees $(ls "$PROJ/many" | wc -l) files"
run_ml exec -- sh -c 'rm -r /workspace/many && echo removed'
expect_rc 0
[ ! -e "$PROJ/many" ] || fail "many/ still on the host"
echo "2000 small files create+list+remove: $(( ($(date +%s%N) - start) / 1000000 )) ms" >&2

start=$(date +%s%N)
run_ml exec -- sh -c 'dd if=/dev/urandom of=/workspace/big bs=1M count=64 2>/dev/null && sync && sha256sum /workspace/big'
expect_rc 0
write_ms=$(( ($(date +%s%N) - start) / 1000000 ))
guest_sum=${OUT%% *}
[ "$guest_sum" = "$(sha256sum "$PROJ/big" | cut -d' ' -f1)" ] || fail "64 MiB: guest and host sha256 differ"
start=$(date +%s%N)
run_ml exec -- sh -c 'echo 3 >/proc/sys/vm/drop_caches; sha256sum /workspace/big'
expect_rc 0
[ "${OUT%% *}" = "$guest_sum" ] || fail "64 MiB read back differs"
echo "64 MiB write+sha256: ${write_ms} ms; read+sha256: $(( ($(date +%s%N) - start) / 1000000 )) ms" >&2
rm -f "$PROJ/big"

# 5b. cache = "none" (direct I/O): 16 MiB written and read back through /direct,
# partial writes at an offset, and a file the host rewrote is read fresh.
run_ml exec -- sh -c '
  set -e
  dd if=/dev/urandom of=/direct/big bs=1M count=16 2>/dev/null
  printf ABCD | dd of=/direct/big bs=1 seek=4096 conv=notrunc 2>/dev/null
  sha256sum /direct/big'
expect_rc 0
[ "${OUT%% *}" = "$(sha256sum "$PROJ/directdir/big" | cut -d' ' -f1)" ] || fail "cache=none: guest and host sha256 differ"
[ "$(dd if="$PROJ/directdir/big" bs=1 skip=4096 count=4 2>/dev/null)" = ABCD ] || fail "cache=none: partial write lost"
echo "rewritten on the host" >"$PROJ/directdir/big"
run_ml exec -- cat /direct/big
expect_rc 0
[ "$OUT" = "rewritten on the host" ] || fail "cache=none: stale read: $OUT"

# 6. Host-side edits show up in the guest (attribute/entry timeouts are 1 s).
run_ml exec -- cat /workspace/hello.txt
echo "edited on the host" >"$PROJ/hello.txt"
echo "new" >"$PROJ/host-new.txt"
sleep 2
run_ml exec -- sh -c 'cat /workspace/hello.txt /workspace/host-new.txt'
expect_rc 0
[ "$OUT" = "edited on the host
new" ] || fail "host edits not visible: $OUT"

# 7. A rename race: the host keeps swapping race/ (a real dir) with a symlink to a
# host dir outside the share while the guest reads and writes through race/.
(
  end=$(( $(date +%s) + 8 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    mv "$PROJ/race" "$PROJ/race.real"; ln -s "$OUTSIDE" "$PROJ/race"
    rm "$PROJ/race"; mv "$PROJ/race.real" "$PROJ/race"
  done
) &
racer=$!
run_ml exec -- sh -c '
  i=0; while [ $i -lt 300 ]; do
    cat /workspace/race/f 2>/dev/null
    echo pwned 2>/dev/null >/workspace/race/planted
    i=$((i+1))
  done; true'
wait "$racer"
expect_rc 0
case "$OUT" in *HOST-OUTSIDE*) fail "read through the swapped symlink on the host" ;; esac
expect_contains "$OUT" "inside"
[ ! -e "$OUTSIDE/planted" ] || fail "wrote through the swapped symlink on the host"
[ "$(cat "$OUTSIDE/f")" = HOST-OUTSIDE ] || fail "outside file changed"

# 8. diff/export are for snapshot mounts only (docs/workspace.md).
run_ml diff ws
[ "$RC" -ne 0 ] || fail "diff of a sandbox without a snapshot mount succeeded"
expect_contains "$ERR" "has no snapshot mount"

run_ml down ws
expect_rc 0
