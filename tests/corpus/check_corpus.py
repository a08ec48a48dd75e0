#!/usr/bin/env python3
"""Schema and validator agree on the corpus.

Every valid file (tests/corpus/valid/*.toml, Matchlockfile.example,
examples/*/Matchlockfile) must pass both the JSON Schema
(schema/matchlockfile.schema.json, via python3-jsonschema; TOML read with
tomllib) and `matchlock validate`. Every invalid file
(tests/corpus/invalid/*.toml) must fail `matchlock validate` with exit 2 and
exactly the "# expect: LINE:COL: message" lines it lists, and must fail the
schema too -- unless it says "# schema: cannot express (...)", in which case
the schema must accept it (so the list of gaps stays true). A file marked
"# host: linux" is checked only on that host (sys.platform).
"""
import glob
import json
import os
import subprocess
import sys
import tomllib

import jsonschema

src = os.environ["MATCHLOCK_SOURCE_DIR"]
matchlock = os.environ["MATCHLOCK"]
with open(os.path.join(src, "schema/matchlockfile.schema.json")) as f:
    schema = json.load(f)
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
failures = []


def schema_errors(path):
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        return [f"TOML: {e}"]
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def run_validate(path):
    p = subprocess.run([matchlock, "validate", path], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


valid = sorted(glob.glob(os.path.join(src, "tests/corpus/valid/*.toml")))
valid += [os.path.join(src, "Matchlockfile.example")]
valid += sorted(glob.glob(os.path.join(src, "examples/*/Matchlockfile")))
invalid = sorted(glob.glob(os.path.join(src, "tests/corpus/invalid/*.toml")))
if len(valid) < 11 or len(invalid) < 20:
    failures.append(f"corpus too small: {len(valid)} valid, {len(invalid)} invalid")

for path in valid:
    rel = os.path.relpath(path, src)
    errs = schema_errors(path)
    if errs:
        failures.append(f"{rel}: valid file rejected by the schema: {errs}")
    rc, out, err = run_validate(path)
    if rc != 0 or not out.strip().endswith(": ok"):
        failures.append(f"{rel}: valid file rejected by matchlock validate (exit {rc}): {err.strip()}")

for path in invalid:
    rel = os.path.relpath(path, src)
    with open(path) as f:
        lines = f.read().splitlines()
    # "# host: linux": the file is invalid only on that host (sandbox.backend = "vz" off macOS).
    hosts = [l[len("# host: "):].strip() for l in lines if l.startswith("# host: ")]
    if hosts and sys.platform not in hosts:
        continue
    expected = [l[len("# expect: "):] for l in lines if l.startswith("# expect: ")]
    schema_gap = any(l.startswith("# schema: cannot express") for l in lines)
    if not expected:
        failures.append(f"{rel}: no '# expect:' lines")
    rc, out, err = run_validate(path)
    got = [l[len(path) + 1:] if l.startswith(path + ":") else "UNPREFIXED " + l for l in err.splitlines()]
    if rc != 2:
        failures.append(f"{rel}: expected exit 2, got {rc}")
    if got != expected:
        failures.append(f"{rel}: errors differ\n  expected: {expected}\n  got:      {got}")
    errs = schema_errors(path)
    if schema_gap and errs:
        failures.append(f"{rel}: marked 'schema: cannot express' but the schema rejects it: {errs}")
    if not schema_gap and not errs:
        failures.append(f"{rel}: invalid file accepted by the schema")

print(f"corpus: {len(valid)} valid and {len(invalid)} invalid files checked with schema and validator")
for f in failures:
    print("FAIL:", f, file=sys.stderr)
sys.exit(1 if failures else 0)
