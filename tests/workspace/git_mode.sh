# Git mode end to end (docs/workspace-git.md): a dirty host repo is cloned for
# the sandbox (uncommitted work on matchlock/work), the guest commits on a
# branch of its own through the FUSE mount, `fetch-branch` and then `down` bring
# it back as matchlock/<sandbox>/<branch>; the host work tree, index and HEAD
# never change. (The git CLI is used by this test only, on both sides.)
. "$(dirname "$0")/../lifecycle/lib.sh"
rig_need_debian
export GIT_AUTHOR_NAME=host GIT_AUTHOR_EMAIL=host@example.org GIT_COMMITTER_NAME=host GIT_COMMITTER_EMAIL=host@example.org
repo="$PROJ/repo"
git init -q -b main "$repo"
printf 'one\n' >"$repo/a.txt"
git -C "$repo" add a.txt && git -C "$repo" commit -q -m initial
printf 'one, edited on the host\n' >"$repo/a.txt"   # unstaged
printf 'untracked\n' >"$repo/new.txt"              # untracked
head_before=$(git -C "$repo" rev-parse HEAD)
state_of_repo() { (cd "$repo" && git status --porcelain=v2 --untracked-files=all && sha256sum .git/index a.txt new.txt && cat .git/HEAD); }
before=$(state_of_repo)

cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "gm"

[sandbox]
image = "$ML_REG_ANON/matchlock/debian:latest"
cpus = 1
memory = "512MiB"
disk = "256MiB"
workdir = "/workspace"

[[mounts]]
source = "repo"
target = "/workspace"
mode = "git"
TOML

run_ml up --trust
expect_rc 0
g='git -c safe.directory=* -c user.name=agent -c user.email=agent@example.org'
run_ml exec -- sh -c "$g branch --show-current; cat a.txt new.txt; $g status --porcelain | wc -l"
expect_rc 0
[ "$OUT" = "matchlock/work
one, edited on the host
untracked
0" ] || fail "the clone in the guest: $OUT"

run_ml exec -- sh -c "$g checkout -q -b agent-fix && echo fixed >fix.txt && $g add fix.txt && $g commit -q -m 'agent fix' && $g rev-parse HEAD"
expect_rc 0
fix1=$OUT
run_ml fetch-branch
expect_rc 0
expect_contains "$OUT" "matchlock/gm/agent-fix new ${fix1:0:10}"
expect_contains "$OUT" "matchlock/gm/matchlock/work new"
[ "$(git -C "$repo" rev-parse matchlock/gm/agent-fix)" = "$fix1" ] || fail "matchlock/gm/agent-fix is not $fix1"
[ "$(git -C "$repo" show matchlock/gm/agent-fix:fix.txt)" = fixed ] || fail "fix.txt not in the fetched branch"
[ "$(git -C "$repo" show matchlock/gm/agent-fix:a.txt)" = "one, edited on the host" ] || fail "work commit not the fix's parent"
[ "$(state_of_repo)" = "$before" ] || fail "host repo changed by fetch-branch: $(state_of_repo)"
[ "$(git -C "$repo" rev-parse HEAD)" = "$head_before" ] || fail "host HEAD moved"
[ ! -e "$repo/.git/FETCH_HEAD" ] || fail "FETCH_HEAD written"

# One more commit; `down` fetches it (old -> new) and removes the clone.
run_ml exec -- sh -c "echo again >>fix.txt && $g commit -q -am again && $g rev-parse HEAD"
expect_rc 0
fix2=$OUT
run_ml down
expect_rc 0
expect_contains "$OUT" "matchlock/gm/agent-fix ${fix1:0:10} -> ${fix2:0:10}"
[ "$(git -C "$repo" rev-parse matchlock/gm/agent-fix)" = "$fix2" ] || fail "down did not fetch $fix2"
[ ! -e "$XDG_STATE_HOME/matchlock/sandboxes/gm/git" ] || fail "clone left after down"
[ "$(state_of_repo)" = "$before" ] || fail "host repo changed by down"
git -C "$repo" fsck --no-progress >/dev/null 2>&1 || fail "host repo fsck failed"
no_qemu_left
