#!/usr/bin/env bash
# rig.smoke: the rig works without matchlock. Real registries, real token flow,
# real TLS, and the fault proxy doing what it says, checked with curl and skopeo.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/lib.sh"

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
json_get() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
layout_digest() { json_get 'd["manifests"][0]["digest"]' <"$ML_IMG_DIR/$1/index.json"; }
ACCEPT=(-H "Accept: application/vnd.oci.image.index.v1+json"
        -H "Accept: application/vnd.oci.image.manifest.v1+json"
        -H "Accept: application/vnd.docker.distribution.manifest.v2+json"
        -H "Accept: application/vnd.docker.distribution.manifest.list.v2+json")
manifest_digest() {  # URL [curl args]: the sha256 of the manifest bytes served
  curl -fsS "${ACCEPT[@]}" "${@:2}" "$1" | sha256sum | sed 's/ .*//;s/^/sha256:/'
}

# --- anonymous: digests survive the push byte for byte
[ "$(code "http://$ML_REG_ANON/v2/")" = 200 ] || fail "anon /v2/ not 200"
for img in busybox layers multiarch; do
  got=$(manifest_digest "http://$ML_REG_ANON/v2/matchlock/$img/manifests/latest")
  [ "$got" = "$(layout_digest "$img")" ] || fail "$img: registry serves $got, layout has $(layout_digest "$img")"
done
ctype=$(curl -fsS -o /dev/null -w '%{content_type}' "${ACCEPT[@]}" "http://$ML_REG_ANON/v2/matchlock/busybox/manifests/docker")
[ "$ctype" = application/vnd.docker.distribution.manifest.v2+json ] || fail "busybox:docker content type $ctype"
ctype=$(curl -fsS -o /dev/null -w '%{content_type}' "${ACCEPT[@]}" "http://$ML_REG_ANON/v2/matchlock/multiarch/manifests/docker")
[ "$ctype" = application/vnd.docker.distribution.manifest.list.v2+json ] || fail "multiarch:docker content type $ctype"
got=$(manifest_digest "http://$ML_REG_ANON/v2/matchlock/multiarch/manifests/docker")
[ "$got" = "$(layout_digest multiarch-docker)" ] || fail "multiarch:docker digest $got"
att=$(curl -fsS "${ACCEPT[@]}" "http://$ML_REG_ANON/v2/matchlock/multiarch/manifests/latest" |
  json_get '[m["annotations"]["vnd.docker.reference.type"] for m in d["manifests"] if m["platform"]["os"]=="unknown"][0]')
[ "$att" = attestation-manifest ] || fail "multiarch: no attestation manifest ($att)"

# --- basic: 401 without / with wrong creds, 200 with the right ones
[ "$(code "http://$ML_REG_BASIC/v2/")" = 401 ] || fail "basic /v2/ without creds not 401"
[ "$(code -u "$ML_REG_BASIC_USER:wrong" "http://$ML_REG_BASIC/v2/")" = 401 ] || fail "basic wrong pass not 401"
[ "$(code -u "$ML_REG_BASIC_USER:$ML_REG_BASIC_PASS" "http://$ML_REG_BASIC/v2/")" = 200 ] || fail "basic with creds not 200"
got=$(manifest_digest "http://$ML_REG_BASIC/v2/matchlock/layers/manifests/latest" -u "$ML_REG_BASIC_USER:$ML_REG_BASIC_PASS")
[ "$got" = "$(layout_digest layers)" ] || fail "basic serves another layers digest"

# --- token: challenge, anonymous pull token, private repo needs creds
hdr=$(curl -s -D - -o /dev/null "http://$ML_REG_TOKEN/v2/matchlock/busybox/manifests/latest")
expect_contains "$hdr" "Bearer realm=\"$ML_REG_TOKEN_REALM\",service=\"$ML_REG_TOKEN_SERVICE\""
token() {  # SCOPE [curl args]
  curl -fsS "${@:2}" "$ML_REG_TOKEN_REALM?service=$ML_REG_TOKEN_SERVICE&scope=$1" | json_get 'd["token"]'
}
t=$(token repository:matchlock/busybox:pull)
got=$(manifest_digest "http://$ML_REG_TOKEN/v2/matchlock/busybox/manifests/latest" -H "Authorization: Bearer $t")
[ "$got" = "$(layout_digest busybox)" ] || fail "token registry serves another busybox digest"
t=$(token repository:matchlock/private/busybox:pull)
[ "$(code -H "Authorization: Bearer $t" "http://$ML_REG_TOKEN/v2/matchlock/private/busybox/manifests/latest")" = 401 ] ||
  fail "anonymous token opened a private repo"
t=$(token repository:matchlock/private/busybox:pull -u "$ML_REG_TOKEN_USER:$ML_REG_TOKEN_PASS")
[ "$(code "${ACCEPT[@]}" -H "Authorization: Bearer $t" "http://$ML_REG_TOKEN/v2/matchlock/private/busybox/manifests/latest")" = 200 ] ||
  fail "user token cannot read the private repo"
[ "$(code -u "$ML_REG_TOKEN_USER:nope" "$ML_REG_TOKEN_REALM?service=x&scope=repository:a:pull")" = 401 ] ||
  fail "token server accepted a wrong password"
[ "$(code -H "Authorization: Bearer not.a.jwt" "http://$ML_REG_TOKEN/v2/")" = 401 ] || fail "registry accepted a junk token"

# --- a private token registry with 3 s tokens: a token stops working once expired
rig_token_registry TOK1 3
hdr=$(curl -s -D - -o /dev/null "http://$TOK1/v2/matchlock/busybox/manifests/latest")
realm=$(printf '%s' "$hdr" | sed -n 's/.*Bearer realm="\([^"]*\)".*/\1/p' | tr -d '\r')
t=$(curl -fsS "$realm?service=$ML_REG_TOKEN_SERVICE&scope=repository:matchlock/busybox:pull" | json_get 'd["token"]')
[ "$(code "${ACCEPT[@]}" -H "Authorization: Bearer $t" "http://$TOK1/v2/matchlock/busybox/manifests/latest")" = 200 ] ||
  fail "private token registry: fresh token refused"
sleep 4
[ "$(code "${ACCEPT[@]}" -H "Authorization: Bearer $t" "http://$TOK1/v2/matchlock/busybox/manifests/latest")" = 401 ] ||
  fail "private token registry: expired token accepted"

# --- TLS: trusted with the rig CA only
[ "$(code --cacert "$ML_RIG_CA" "https://$ML_REG_TLS/v2/")" = 200 ] || fail "TLS /v2/ with rig CA not 200"
if curl -fsS -o /dev/null "https://$ML_REG_TLS/v2/" 2>/dev/null; then fail "TLS registry trusted without the rig CA"; fi

# --- a real client pulls through each set-up
skopeo copy -q --src-tls-verify=false "docker://$ML_REG_ANON/matchlock/multiarch:latest" "oci:$TEST_TMP/a:x" >/dev/null
rig_docker_auth basic token
skopeo copy -q --src-tls-verify=false --src-authfile "$DOCKER_CONFIG/config.json" \
  "docker://$ML_REG_BASIC/matchlock/layers:latest" "oci:$TEST_TMP/b:x" >/dev/null
skopeo copy -q --src-tls-verify=false --src-creds "$ML_REG_TOKEN_USER:$ML_REG_TOKEN_PASS" \
  "docker://$ML_REG_TOKEN/matchlock/private/busybox:latest" "oci:$TEST_TMP/c:x" >/dev/null
mkdir -p "$TEST_TMP/certs" && cp "$ML_RIG_CA" "$TEST_TMP/certs/ca.crt"
skopeo copy -q --src-cert-dir "$TEST_TMP/certs" "docker://$ML_REG_TLS/matchlock/busybox:latest" "oci:$TEST_TMP/d:x" >/dev/null

# --- fault proxy
big=$(rig_layer_digests "$ML_IMG_DIR/busybox" | head -1)
size=$(stat -c %s "$ML_IMG_DIR/busybox/blobs/sha256/${big#sha256:}")
blob_url() { echo "http://$1/v2/matchlock/busybox/blobs/$big"; }

rig_fault_proxy P500 --fail-status 500 --times 1
[ "$(code "$(blob_url "$P500")")" = 500 ] || fail "proxy: first blob GET not 500"
got=$(curl -fsS "$(blob_url "$P500")" | sha256sum | sed 's/ .*//;s/^/sha256:/')
[ "$got" = "$big" ] || fail "proxy: second blob GET not the blob"
[ "$(rig_blob_gets "$P500" "$big")" = 2 ] || fail "proxy: counted $(rig_blob_gets "$P500" "$big") GETs, want 2"
[ "$(code "${ACCEPT[@]}" "http://$P500/v2/matchlock/busybox/manifests/latest")" = 200 ] || fail "proxy faulted a manifest"

rig_fault_proxy PTRUNC --truncate 0.5
n=$(curl -s -o "$TEST_TMP/t" -w '%{size_download}' "$(blob_url "$PTRUNC")" || true)
[ "$n" -eq $((size / 2)) ] || fail "proxy truncate: got $n bytes of $size"

rig_fault_proxy PBAD --corrupt
got=$(curl -fsS "$(blob_url "$PBAD")" | sha256sum | sed 's/ .*//;s/^/sha256:/')
[ "$got" != "$big" ] || fail "proxy corrupt: blob unchanged"

rig_fault_proxy PSTALL --stall-after 4096
set +e
n=$(curl -s -o /dev/null --max-time 2 -w '%{size_download}' "$(blob_url "$PSTALL")")
rc=$?
set -e
[ "$rc" = 28 ] && [ "$n" = 4096 ] || fail "proxy stall: curl rc $rc after $n bytes (want timeout after 4096)"

rig_fault_proxy PRANGE
n=$(curl -fsS -H "Range: bytes=100-" -o /dev/null -w '%{http_code} %{size_download}' "$(blob_url "$PRANGE")")
[ "$n" = "206 $((size - 100))" ] || fail "proxy range: $n"

# --- a real registry serving blobs that do not match their digests
for kind in wrong-digest truncated; do
  d=$(rig_layer_digests "$ML_IMG_DIR/hostile-$kind")
  got=$(curl -fsS "http://$ML_REG_ANON/v2/matchlock/hostile-$kind/blobs/$d" | sha256sum | sed 's/ .*//;s/^/sha256:/' || true)
  [ -n "$got" ] && [ "$got" != "$d" ] || fail "hostile-$kind: registry serves the right bytes ($got)"
  [ "$(code "${ACCEPT[@]}" "http://$ML_REG_ANON/v2/matchlock/hostile-$kind/manifests/latest")" = 200 ] ||
    fail "hostile-$kind: no manifest"
done

size_decl=$(curl -fsS "${ACCEPT[@]}" "http://$ML_REG_ANON/v2/matchlock/hostile-descsize/manifests/latest" | json_get 'd["layers"][0]["size"]')
[ "$size_decl" = 1099511627776 ] || fail "hostile-descsize: declared size $size_decl"

# --- layout files other tests rely on
for f in layers.expected.json hostile-bomb hostile-dotdot hostile-wrong-digest hostile-truncated busybox-docker; do
  [ -e "$ML_IMG_DIR/$f" ] || fail "missing $ML_IMG_DIR/$f"
done
echo "rig smoke: ok"
