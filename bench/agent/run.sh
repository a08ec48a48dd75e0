#!/usr/bin/env bash
# bench/agent: a real agent CLI, end to end (issue 15 item 10). In a Debian sandbox whose
# allow list is just Debian's mirror (for nodejs) and the npm registry, `matchlock up`
# installs nodejs + npm with apt and Claude Code with `npm install -g`, then `matchlock run`
# runs `claude --version`. Prints the wall time and how it splits: boot, CA, apt, npm,
# layer captures, run (host clock: each line of `up`'s stderr is stamped when it arrives;
# the guest's clock drifts under a loaded TCG host); then the same `up` again, warm, from
# the cached task layers (docs/tasks.md: the uncached CA task before them is part of them).
#   bench/agent/run.sh [NPM_PACKAGE [COMMAND...]]   (default: @anthropic-ai/claude-code claude --version)
# Not a ctest: it needs deb.debian.org and registry.npmjs.org. Where the host reaches the
# internet through a TLS-inspecting proxy, its CA (MATCHLOCK_BENCH_CA, default: every extra
# CA in /usr/local/share/ca-certificates) is given to the guest by an uncached `ca` task,
# as a company CA would be. apt uses plain HTTP (through the proxy's HTTP loop); npm's TLS
# to the registry is passthrough, verified by node with NODE_EXTRA_CA_CERTS.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
ml="${MATCHLOCK:-$root/build/matchlock}"
[ -x "$ml" ] || { echo "bench/agent: $ml not built" >&2; exit 2; }
package=${1:-@anthropic-ai/claude-code}
shift || true
command=("$@")
[ ${#command[@]} -eq 0 ] && command=(claude --version)
work=$(mktemp -d /tmp/ml-bench-agent.XXXXXX)
cleanup() {
  "$ml" -f "$work/proj/Matchlockfile" down bench-agent >/dev/null 2>&1 || true
  # This run's layers leave the cache (their keys hold a nonce: no later run could use them).
  for k in $(grep -l "\"file\": \"$work/proj/Matchlockfile\"" "${XDG_CACHE_HOME:-$HOME/.cache}"/matchlock/layers/*.json 2>/dev/null); do
    rm -f "$k" "${k%.json}.ext4"
  done
  rm -rf "$work"
}
trap cleanup EXIT
export XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config"
images="${MATCHLOCK_BENCH_IMAGES:-$root/.matchlock-example/images}"
python3 "$root/tests/rig/make_image.py" --out "$images" debian >/dev/null
mkdir -p "$work/proj/ca"
if [ -n "${MATCHLOCK_BENCH_CA:-}" ]; then
  cp "$MATCHLOCK_BENCH_CA" "$work/proj/ca/extra.crt"
else
  cat /usr/local/share/ca-certificates/*.crt >"$work/proj/ca/extra.crt" 2>/dev/null || : >"$work/proj/ca/extra.crt"
fi
nonce="$$-$(date +%s%N)"  # a cold run: no earlier run's layers match

cat >"$work/proj/Matchlockfile" <<TOML
version = 1
name = "bench-agent"
up = ["agent"]

[sandbox]
image = "oci-layout:$images/debian:latest"
cpus = 2
memory = "2GiB"
disk = "4GiB"

[sandbox.env]
BENCH_NONCE = "$nonce"
NODE_EXTRA_CA_CERTS = "/usr/local/share/ca-certificates/extra.crt"

[[mounts]]
source = "ca"
target = "/mnt/ca"
mode = "ro"

[network]
allow = ["deb.debian.org", "registry.npmjs.org"]

[tasks.ca]
description = "The host's extra CA (a TLS-inspecting proxy) for apt and npm"
run = 'mkdir -p /usr/local/share/ca-certificates && cp /mnt/ca/extra.crt /usr/local/share/ca-certificates/extra.crt'
user = "root"

[tasks.node]
description = "nodejs and npm from Debian's mirror"
run = 'export DEBIAN_FRONTEND=noninteractive; apt-get -q update >/tmp/apt.log 2>&1 && apt-get install -y -q --no-install-recommends nodejs npm >>/tmp/apt.log 2>&1 || { tail -20 /tmp/apt.log; exit 1; }; echo "node \$(node --version), npm \$(npm --version), \$(grep -c "^Get:" /tmp/apt.log) debs"'
user = "root"
needs = ["ca"]
cache = true

[tasks.agent]
description = "$package from the npm registry"
run = 'npm install -g --no-fund --no-audit --loglevel=error "$package" 2>&1 | tail -5'
user = "root"
needs = ["node"]
cache = true

[tasks.version]
description = "The agent's version"
run = [$(printf '"%s", ' "${command[@]}" | sed 's/, $//')]
TOML

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
now() { date +%s.%N; }
# stamp: each line of stdin prefixed with the host time it arrived.
stamp() { while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done; }
at() { awk -v p="$2" 'index($0, p) { print $1; exit }' "$1"; }  # at FILE TEXT: when TEXT arrived
capture() { awk -v t="$2" 'index($0, "task " t ": cached layer saved") { for (i = 1; i <= NF; i++) if ($i == "ms)") printf "%.1f", $(i - 1) / 1000 }' "$1"; }
# split_times FILE T0 READY: boot (until the first task), each task (header to the next line after it), captures.
split_times() {
  local f=$1 t0=$2 ca node node_saved agent agent_saved
  ca=$(at "$f" "==> task ca"); node=$(at "$f" "==> task node"); node_saved=$(at "$f" "task node: cached layer saved")
  agent=$(at "$f" "==> task agent"); agent_saved=$(at "$f" "task agent: cached layer saved")
  echo "boot $(secs "$t0" "$ca") s (supervisor, image, VM: $(secs 0 "$3") s of it the VM's ready time)" \
       "+ CA $(secs "$ca" "$node") s + apt (nodejs npm) $(secs "$node" "$node_saved") s" \
       "+ npm install $(secs "$agent" "$agent_saved") s" \
       "(layer captures $(capture "$f" node) s + $(capture "$f" agent) s included)"
}

cd "$work/proj"
echo "bench/agent: $package in a Debian sandbox (allow: deb.debian.org, registry.npmjs.org), then: ${command[*]}"

# 1. Cold: boot, then the up tasks ca -> node (apt) -> agent (npm), each cached task captured.
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(now)
"$ml" up --trust --json 2>&1 >"$work/up1.json" </dev/null | stamp >"$work/up1.err" || { cat "$work/up1.err" "$work/up1.json" >&2; exit 1; }
t1=$(now)
grep -q '"up_tasks_exit_code": 0' "$work/up1.json" || { cat "$work/up1.err" >&2; exit 1; }
ready1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ready_ms"] / 1000)' "$work/up1.json")
accel=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accel"])' "$work/up1.json")
"$ml" run version >"$work/run1.out" 2>"$work/run1.err" </dev/null || { cat "$work/run1.err" "$work/run1.out" >&2; exit 1; }
t2=$(now)
grep -E ' (node v|added [0-9]+ package)' "$work/up1.err" | cut -d' ' -f2- | sed 's/^/  /' || true
echo "accel $accel; ${command[*]} printed: $(tr '\n' ' ' <"$work/run1.out")"
echo "cold up $(secs "$t0" "$t1") s = $(split_times "$work/up1.err" "$t0" "$ready1")"
echo "     run ${command[*]}: $(secs "$t1" "$t2") s; total $(secs "$t0" "$t2") s"
"$ml" down bench-agent >/dev/null 2>&1

# 2. Warm: the same up from the cached layers (ca, node and agent skipped), then the same run.
t0=$(now)
"$ml" up --trust --json 2>&1 >"$work/up2.json" </dev/null | stamp >"$work/up2.err" || { cat "$work/up2.err" >&2; exit 1; }
t1=$(now)
"$ml" run version >"$work/run2.out" 2>"$work/run2.err" </dev/null || { cat "$work/run2.err" >&2; exit 1; }
t2=$(now)
grep -q "task agent (cached layer)" "$work/up2.err" || { echo "bench/agent: the warm up did not use the cached layers:" >&2; cat "$work/up2.err" >&2; exit 1; }
ready2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ready_ms"] / 1000)' "$work/up2.json")
echo "warm up (cached layers; ca, node, agent skipped) $(secs "$t0" "$t1") s (VM ready ${ready2} s), run $(secs "$t1" "$t2") s; total $(secs "$t0" "$t2") s"
