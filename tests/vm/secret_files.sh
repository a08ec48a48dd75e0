# Secret files (issue 15 item 1) from inside a booted guest (Debian's curl, `up` + `exec`):
#  - a JSON credentials file (Claude Code's shape) with two tokens, each its own placeholder,
#    delivered at ~/.claude/.credentials.json of the sandbox's user (nobody), 0600, owned by
#    it, inside a named volume mounted at ~/.claude (so the host keeps placeholders only);
#  - an .npmrc from a template;
#  - each placeholder is injected toward its bound host only, never into a routing header;
#  - an OAuth refresh: the grant POSTed to the secret's refresh_url carries the real refresh
#    token in its JSON body (a POST elsewhere keeps the placeholder); the response (an echo
#    of the old token and two new tokens of the same shape, cut into 7-byte chunks) reaches
#    the guest with placeholders; the new access token's placeholder works toward the bound
#    host, and the new refresh token's placeholder in the next grant becomes the new token;
#  - a compressed response from a bound host is refused (502), not passed on unread;
#  - no real value (old or refreshed) anywhere in the guest: every file, /proc/*/environ
#    and cmdline, the exec environment; nor in matchlock's state on the host.
. "$(dirname "$0")/net_prelude.sh"
mkdir -p "$TEST_TMP/canned"
net_upstream https tls

rnd() { head -c 30 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
ACCESS="sk-ant-oat01-Q$(rnd)"
REFRESH="sk-ant-ort01-Q$(rnd)"
NEW_ACCESS="sk-ant-oat01-Q$(rnd)"
NEW_REFRESH="sk-ant-ort01-Q$(rnd)"
NPM="npm_Q$(rnd)"
export ML_TEST_NPM="$NPM" ML_TEST_OTHER="other-$(rnd)"
cat >"$TEST_TMP/credentials.json" <<JSON
{"claudeAiOauth": {"accessToken": "$ACCESS", "refreshToken": "$REFRESH", "expiresAt": 1893456000000,
  "scopes": ["user:inference", "user:profile"], "subscriptionType": "max"}}
JSON
printf '{"token_type":"Bearer","access_token":"%s","refresh_token":"%s","expires_in":28800,"echo":"%s"}' \
  "$NEW_ACCESS" "$NEW_REFRESH" "$ACCESS" >"$TEST_TMP/canned/token.json"

cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "secfiles"
[sandbox]
image = "$ML_REG_ANON/matchlock/debian:latest"
cpus = 1
memory = "512MiB"
disk = "256MiB"
user = "nobody"
workdir = "/tmp"

[[mounts]]                   # the agent's state in a volume; its credentials file lands in it
volume = "claude"
target = "/nonexistent/.claude"

[network]
allow = ["allowed.test"]
block_private = false        # the test upstreams listen on 127.0.0.1
ca = "$TEST_TMP/ca.pem"

[secrets.CLAUDE]
from = "file:$TEST_TMP/credentials.json"
hosts = ["secret.test"]
inject = ["header"]
json = ["claudeAiOauth.accessToken", "claudeAiOauth.refreshToken"]
file = "~/.claude/.credentials.json"
refresh_url = "https://secret.test:$UP_https/canned/token.json"

[secrets.OTHER]              # other.test intercepted too: a placeholder sent there is seen and refused
from = "env:ML_TEST_OTHER"
hosts = ["other.test"]

[secrets.NPM]
from = "env:ML_TEST_NPM"
hosts = ["secret.test"]
file = "/tmp/npmrc"
template = "//secret.test/:_authToken=\${NPM}\nalways-auth=true\n"
TOML

run_ml up --dry-run
expect_rc 0
expect_contains "$OUT" "--secret-file ~/.claude/.credentials.json (secrets.CLAUDE, 0600, the JSON document with placeholders, never values)"
expect_contains "$OUT" "--secret CLAUDE.claudeAiOauth.refreshToken (json field: its own placeholder)"
run_ml up
expect_rc 0

read -r -d '' GUEST <<'EOS' || true
set +e
c() { curl -sS --max-time 30 "$@"; }
f=$HOME/.claude/.credentials.json
echo "home=$HOME"
echo "owner=$(stat -c '%U %a' "$f")"
echo "dir_owner=$(stat -c '%U %a' "$HOME/.claude")"
echo "npmrc_owner=$(stat -c '%U %a' /tmp/npmrc)"
echo "--- file"; cat "$f"; echo "--- npmrc"; cat /tmp/npmrc; echo "---"
access=$(sed -n 's/.*"accessToken": "\(MATCHLOCK_SECRET_[0-9a-f]*\)".*/\1/p' "$f")
refresh=$(sed -n 's/.*"refreshToken": "\(MATCHLOCK_SECRET_[0-9a-f]*\)".*/\1/p' "$f")
npm=$(sed -n 's|^//secret.test/:_authToken=\(MATCHLOCK_SECRET_[0-9a-f]*\)$|\1|p' /tmp/npmrc)
echo "access_ph=${access%%_*} ${#access}"
echo "distinct=$([ "$access" != "$refresh" ] && [ -n "$refresh" ] && echo yes)"
echo "env_claude=${CLAUDE:-unset}"
echo "bound=$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $access" "https://secret.test:$SP/api/access")"
echo "npm_bound=$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $npm" "https://secret.test:$SP/api/npm")"
echo "unbound=$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $access" "https://other.test:$SP/api/unbound")"
echo "routing=$(c -o /dev/null -w '%{http_code}' -H "Connection: keep-alive, $refresh" "https://secret.test:$SP/api/routing")"
echo "body_elsewhere=$(c -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data "{\"refresh_token\":\"$refresh\"}" "https://secret.test:$SP/api/body-elsewhere")"
echo "refresh_status=$(c -o /tmp/token.json -w '%{http_code}' -H 'Content-Type: application/json' --data "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"$refresh\"}" "https://secret.test:$SP/canned/token.json?chunked=7")"
echo "--- token"; cat /tmp/token.json; echo; echo "---"
new=$(sed -n 's/.*"access_token":"\(MATCHLOCK_SECRET_[0-9a-f]*\)".*/\1/p' /tmp/token.json)
echo "new_ph=${new%%_*} $([ "$new" != "$access" ] && echo fresh)"
echo "echo_is_old=$(grep -c "\"echo\":\"$access\"" /tmp/token.json)"
echo "refreshed_use=$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $new" "https://secret.test:$SP/api/refreshed")"
new_refresh=$(sed -n 's/.*"refresh_token":"\(MATCHLOCK_SECRET_[0-9a-f]*\)".*/\1/p' /tmp/token.json)
echo "second_grant=$(c -o /dev/null -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' --data "grant_type=refresh_token&refresh_token=$new_refresh" "https://secret.test:$SP/canned/token.json")"
echo "gzip=$(c -o /dev/null -w '%{http_code}' "https://secret.test:$SP/canned/token.json?gzip=1")"
EOS
run_ml exec -e SP="$UP_https" -- bash -c "$GUEST"
expect_rc 0
expect_line home /nonexistent
expect_line owner "nobody 600"
expect_line dir_owner "nobody 700"
expect_line npmrc_owner "nobody 600"
expect_line access_ph "MATCHLOCK 49"
expect_line distinct yes
expect_line env_claude unset                # a json secret has no environment variable
expect_line bound 200
expect_line npm_bound 200
expect_line unbound 403
expect_line routing 403
expect_line refresh_status 200
expect_line new_ph "MATCHLOCK fresh"
expect_line echo_is_old 1                   # the old value came back as the old placeholder
expect_line refreshed_use 200
expect_line body_elsewhere 200
expect_line second_grant 200
expect_line gzip 502
expect_contains "$OUT" '"expiresAt": 1893456000000'
expect_contains "$OUT" '"subscriptionType": "max"'
expect_contains "$OUT" "always-auth=true"
log="$TEST_TMP/https.log"
grep '"/api/access"' "$log" | grep -q "Bearer $ACCESS" || fail "the bound host did not get the real access token: $(cat "$log")"
grep '"/api/npm"' "$log" | grep -q "Bearer $NPM" || fail "the bound host did not get the real npm token"
grep '"/api/refreshed"' "$log" | grep -q "Bearer $NEW_ACCESS" || fail "the refreshed token's placeholder did not become the new token"
python3 - "$log" "$REFRESH" "$NEW_REFRESH" <<'PY' || fail "refresh grant bodies at the upstream: $(grep -F '"POST"' "$log")"
import json, sys
log, old, new = sys.argv[1], sys.argv[2], sys.argv[3]
posts = [json.loads(l) for l in open(log) if '"POST"' in l]
grants = [p for p in posts if p["path"].startswith("/canned/token.json")]
elsewhere = [p for p in posts if p["path"] == "/api/body-elsewhere"]
assert len(grants) == 2 and len(elsewhere) == 1, posts
assert json.loads(grants[0]["body"])["refresh_token"] == old, grants[0]           # the real refresh token, JSON
assert grants[1]["body"] == "grant_type=refresh_token&refresh_token=" + new, grants[1]  # the learned one, form
assert old not in elsewhere[0]["body"] and "MATCHLOCK_SECRET_" in elsewhere[0]["body"], elsewhere[0]
PY
grep -q '"/api/unbound"\|"/api/routing"' "$log" && fail "a refused request reached the upstream"
grep '"/canned/token.json' "$log" | grep -qi '"Accept-Encoding": "identity"' || fail "intercepted requests do not ask for identity encoding"

# No real value anywhere in the guest: every token-shaped string on its disk, in /tmp, /run,
# every process's environment and command line is listed by the guest (as root) and
# compared here, so the guest is never told the values it is searched for.
read -r -d '' SCAN <<'EOS' || true
pat='sk-ant-o[ar]t01-[A-Za-z0-9_-]+|npm_[A-Za-z0-9_-]+'
echo "sk-ant-oat01-QcontrolOnDisk0123456789" >/var/tmp/control   # the scan must find these two
grep -rhoaE --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev "$pat" / 2>/dev/null
cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' '\n' | grep -oaE "$pat"
env | grep -oaE "$pat"
echo scan-done
EOS
run_ml exec -u root -e CONTROL=npm_QcontrolInEnv0123456789 -- bash -c "$SCAN"
expect_contains "$OUT" "scan-done"
grep -qxF sk-ant-oat01-QcontrolOnDisk0123456789 <<<"$OUT" || fail "the scan does not see files: $OUT"
[ "$(printf '%s\n' "$OUT" | grep -cxF npm_QcontrolInEnv0123456789)" -ge 2 ] || fail "the scan does not see environments: $OUT"
for v in "$ACCESS" "$REFRESH" "$NEW_ACCESS" "$NEW_REFRESH" "$NPM"; do
  grep -qxF -- "$v" <<<"$OUT" && fail "a real value is in the guest: ${v:0:16}..."
  case "$OUT$ERR" in *"$v"*) fail "a real value reached the guest's output: ${v:0:16}..." ;; esac
done
vol="$XDG_STATE_HOME/matchlock/volumes/secfiles/claude/data/.credentials.json"
grep -q '"accessToken": "MATCHLOCK_SECRET_' "$vol" || fail "the credentials file is not in the volume: $(ls -la "$(dirname "$vol")")"
if grep -rqaF -e "$ACCESS" -e "$REFRESH" -e "$NEW_ACCESS" -e "$NEW_REFRESH" -e "$NPM" "$XDG_STATE_HOME" "$XDG_CONFIG_HOME" 2>/dev/null; then
  fail "a real value is in matchlock's state: $(grep -rlaF -e "$ACCESS" -e "$NEW_ACCESS" -e "$NPM" "$XDG_STATE_HOME" "$XDG_CONFIG_HOME")"
fi
run_ml net log
expect_contains "$OUT" "scrubbed=CLAUDE.claudeAiOauth"
expect_contains "$OUT" "secrets=CLAUDE.claudeAiOauth.accessToken+1"
run_ml down
expect_rc 0
no_qemu_left
echo ok
