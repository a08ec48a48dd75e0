# `matchlock init` composes a Matchlockfile for the project it finds (package.json ->
# node, pyproject.toml / requirements.txt -> python, go.mod -> go, else a Debian
# sandbox) and the agent asked for (--agent claude-code|codex|aider); every
# combination validates, and `config --json` shows the image, hosts, secret and tasks
# each should have. A cache = true install after an uncached one is what
# docs/tasks.md promises to cache, so no combination warns.
source "$(dirname "$0")/lib.sh"

# compose KIND AGENT: init in a fresh project dir of that kind; $CONFIG: config --json.
compose() {
  local dir="$TEST_TMP/$1-$2"
  mkdir -p "$dir"
  case $1 in
    node) echo '{"name": "x"}' >"$dir/package.json"; echo '{}' >"$dir/package-lock.json" ;;
    python) printf '[project]\nname = "x"\n' >"$dir/pyproject.toml" ;;
    pyreq) echo 'requests==2.32.3' >"$dir/requirements.txt" ;;
    go) printf 'module x\n\ngo 1.22\n' >"$dir/go.mod" ;;
  esac
  git -C "$dir" init -q 2>/dev/null || mkdir -p "$dir/.git"
  cd "$dir"
  if [ "$2" = none ]; then run_ml init; else run_ml init --agent "$2"; fi
  expect_rc 0
  run_ml validate
  expect_rc 0
  [ -z "$ERR" ] || fail "$1 + $2: validate warns: $ERR"
  run_ml config --json
  expect_rc 0
  CONFIG=$OUT
  cd "$TEST_TMP"
}
# field EXPR: a Python expression over the resolved config `c`.
field() { printf '%s' "$CONFIG" | python3 -c "import json,sys; c=json.load(sys.stdin); print($1)"; }

for kind in node python pyreq go generic; do
  for agent in none claude-code codex aider; do
    compose "$kind" "$agent"
    image=$(field 'c["sandbox"]["image"]')
    allow=$(field '" ".join(c["network"]["allow"])')
    tasks=$(field '" ".join(sorted(t["name"] if isinstance(t, dict) else t for t in (c["tasks"] if isinstance(c["tasks"], list) else c["tasks"].keys())))')
    case $kind in
      node) expect_contains "$image" "node:20"; expect_contains "$allow" "registry.npmjs.org"; expect_contains "$tasks" "deps" ;;
      python|pyreq) expect_contains "$image" "python:3.12"; expect_contains "$allow" "pypi.org"; expect_contains "$tasks" "test" ;;
      go) expect_contains "$image" "golang:"; expect_contains "$allow" "proxy.golang.org"; expect_contains "$tasks" "deps" ;;
      generic) expect_contains "$image" "debian:bookworm-slim" ;;
    esac
    case $agent in
      claude-code) expect_contains "$CONFIG" "api.anthropic.com"; expect_contains "$CONFIG" "@anthropic-ai/claude-code"; expect_contains "$tasks" "claude" ;;
      codex) expect_contains "$CONFIG" "api.openai.com"; expect_contains "$CONFIG" "@openai/codex"; expect_contains "$tasks" "codex" ;;
      aider) expect_contains "$CONFIG" "aider-chat"; expect_contains "$tasks" "aider" ;;
      none) case "$CONFIG" in *api.anthropic.com*|*api.openai.com*) fail "$kind without an agent has an API key" ;; esac ;;
    esac
    # An agent whose runtime the image lacks gets it from Debian's archive first.
    case "$kind/$agent" in
      python/claude-code|go/codex|generic/claude-code|node/aider|go/aider)
        expect_contains "$tasks" "runtime"; expect_contains "$allow" "deb.debian.org" ;;
      node/claude-code|node/codex|python/aider|*/none)
        case "$tasks" in *runtime*) fail "$kind/$agent: needless runtime task" ;; esac ;;
    esac
  done
done

# What it found is said; --project overrides detection; an unknown agent or kind is exit 2.
mkdir -p "$TEST_TMP/said" && cd "$TEST_TMP/said" && echo '{}' >package.json
run_ml init --agent claude-code
expect_rc 0
expect_contains "$OUT" "for a node project (package.json) with claude-code"
grep -q '^mode = "rw"' Matchlockfile || fail "no .git: expected an rw mount"
run_ml init --project go --force
expect_rc 0
expect_contains "$OUT" "for a go project"
grep -q 'golang:' Matchlockfile || fail "--project go: $(cat Matchlockfile)"
run_ml init --agent nope --force
expect_rc 2
expect_contains "$ERR" 'unknown agent "nope"'
run_ml init --project cobol --force
expect_rc 2
expect_contains "$ERR" 'unknown project kind "cobol"'
run_ml init --template codex --agent aider --force
expect_rc 2
# A git repository gets a git-mode mount for an agent (its work comes back as a branch).
grep -q '^mode = "git"' "$TEST_TMP/node-claude-code/Matchlockfile" || fail "git repo + agent: expected mode = git"
