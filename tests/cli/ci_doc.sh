# docs/ci.md and examples/ci/github-actions.yml stay true to the CLI: the workflow is
# valid YAML whose test step runs `matchlock run --frozen`, and every `matchlock VERB
# ...` command line in either uses a verb that exists and only flags that verb (or the
# global options) has, as `matchlock VERB --help` lists them.
source "$(dirname "$0")/lib.sh"
doc="$MATCHLOCK_SOURCE_DIR/docs/ci.md"
workflow="$MATCHLOCK_SOURCE_DIR/examples/ci/github-actions.yml"
python3 - "$workflow" <<'PY' || fail "the workflow"
import sys, yaml
w = yaml.safe_load(open(sys.argv[1]))
steps = w["jobs"]["test"]["steps"]
runs = [s.get("run", "") for s in steps]
assert any("matchlock run --frozen" in r for r in runs), "no step runs matchlock run --frozen"
assert any("tar --sparse -xf" in r for r in runs) and any("tar --sparse -cf" in r for r in runs), "cache not packed sparse"
PY
# Every command line: `matchlock` followed by a verb, up to the end of the line or a shell operator.
python3 - "$doc" "$workflow" >"$TEST_TMP/lines" <<'PY'
import re, sys
def code(path):
    """The code of a file: fenced blocks and `inline` spans of markdown; YAML minus comments."""
    text = open(path).read()
    if not path.endswith(".md"):  # the workflow: the shell of its `run` steps
        import yaml
        runs = [s.get("run", "") for job in yaml.safe_load(text)["jobs"].values() for s in job["steps"]]
        return [re.sub(r"(^|\s)#.*", "", l) for r in runs for l in r.splitlines()]
    out, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced:
            out.append(line)
        else:
            out.extend(re.findall(r"`([^`]+)`", line))
    return out
for path in sys.argv[1:]:
    for line in code(path):
        for m in re.finditer(r"(?:^|[\s(|&;])matchlock((?: +[^\s|&;)]+)+)", line):
            print(path + "\t" + m.group(1).strip())
PY
[ -s "$TEST_TMP/lines" ] || fail "no matchlock command lines found"
run_ml --help
global_help=$OUT
checked=0
while IFS=$'\t' read -r path words; do
  set -- $words
  # Global options before the verb.
  while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do
    expect_contains "$global_help" "$1"
    shift
  done
  [ $# -gt 0 ] || continue
  verb=$1
  shift
  run_ml "$verb" --help
  [ "$RC" -eq 0 ] || fail "$path: 'matchlock $verb' is not a command: $ERR"
  help=$OUT
  # A sub-verb (kernel show) answers its own --help.
  if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    run_ml "$verb" "$1" --help
    [ "$RC" -eq 0 ] && help="$help $OUT"
  fi
  for w in "$@"; do
    case "$w" in
      --) break ;;
      -*) flag=${w%%=*}
          case "$help
$global_help" in *"$flag"*) ;; *) fail "$path: matchlock $verb has no $flag (line: matchlock $words)" ;; esac ;;
    esac
  done
  checked=$((checked + 1))
done <"$TEST_TMP/lines"
[ "$checked" -ge 5 ] || fail "only $checked command lines checked"
