"""Validates rendered Kubernetes documents against vendored schemas (tests/fixtures):
agent-sandbox objects against their CRD's openAPIV3Schema (version v1beta1), core objects
(ConfigMap, Service, Deployment, NetworkPolicy) against tests/fixtures/kubernetes-schemas.

A CRD schema does not forbid unknown fields (the API server prunes them silently, so a
misspelt field would vanish without an error): every object in a CRD schema that lists
`properties` and neither `additionalProperties` nor x-kubernetes-preserve-unknown-fields
is checked for fields it does not name, as `kubectl apply --validate=strict` would.
"""
import json
import os

import jsonschema
import yaml

FIXTURES = os.environ.get("MATCHLOCK_FIXTURES") or os.path.join(os.path.dirname(__file__), "..", "fixtures")

CRDS = {
    "SandboxTemplate": "extensions.agents.x-k8s.io_sandboxtemplates.yaml",
    "SandboxWarmPool": "extensions.agents.x-k8s.io_sandboxwarmpools.yaml",
    "SandboxClaim": "extensions.agents.x-k8s.io_sandboxclaims.yaml",
    "Sandbox": "agents.x-k8s.io_sandboxes.yaml",
}
CORE = {
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("v1", "Service"): "service-v1.json",
    ("apps/v1", "Deployment"): "deployment-apps-v1.json",
    ("networking.k8s.io/v1", "NetworkPolicy"): "networkpolicy-networking-v1.json",
}

_cache = {}


def crd_schema(kind, version):
    key = (kind, version)
    if key not in _cache:
        with open(os.path.join(FIXTURES, "agent-sandbox", CRDS[kind])) as f:
            crd = yaml.safe_load(f)
        group = crd["spec"]["group"]
        for v in crd["spec"]["versions"]:
            if v["name"] == version:
                _cache[key] = (group + "/" + version, v["schema"]["openAPIV3Schema"])
    return _cache[key]


def core_schema(name):
    if name not in _cache:
        with open(os.path.join(FIXTURES, "kubernetes-schemas", name)) as f:
            _cache[name] = json.load(f)
    return _cache[name]


def unknown_fields(doc, schema, path="$"):
    """Fields of DOC that SCHEMA (a CRD structural schema) does not name."""
    out = []
    if isinstance(doc, dict) and schema.get("type") == "object":
        props = schema.get("properties")
        if props is not None and "additionalProperties" not in schema and not schema.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            for k, v in doc.items():
                if k not in props:
                    out.append(f"{path}.{k}: unknown field")
                else:
                    out += unknown_fields(v, props[k], f"{path}.{k}")
        elif isinstance(schema.get("additionalProperties"), dict):
            for k, v in doc.items():
                out += unknown_fields(v, schema["additionalProperties"], f"{path}.{k}")
    elif isinstance(doc, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(doc):
            out += unknown_fields(v, schema["items"], f"{path}[{i}]")
    return out


def validate(doc):
    """Every problem with DOC, as strings; [] when it validates."""
    kind, api = doc.get("kind"), doc.get("apiVersion", "")
    if kind in CRDS:
        want_api, schema = crd_schema(kind, "v1beta1")
        if api != want_api:
            return [f"{kind}: apiVersion {api}, expected {want_api}"]
        errors = [f"{kind}: {e.json_path}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(doc)]
        return errors + [f"{kind}: {e}" for e in unknown_fields(doc, schema)]
    name = CORE.get((api, kind))
    if name is None:
        return [f"no schema for {api} {kind}"]
    schema = core_schema(name)
    return [f"{kind}: {e.json_path}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(doc)]


def load_stream(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]
