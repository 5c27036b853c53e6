#!/usr/bin/python3
"""The packaging files parse and agree with ringsql: every Kubernetes manifest is valid YAML
with the fields Kubernetes requires, probes name declared ports and ringsql's admin paths,
every ringsql config embedded in a ConfigMap passes `ringsql --check`, and the Dockerfile
runs ringsql as a non-root user. Usage: test_deploy.py RINGSQL_BIN (from the source root).
Prints TAP."""
import glob
import os
import subprocess
import sys
import tempfile

import yaml

ringsql = sys.argv[1]
results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def containers(doc):
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("containers", [])


for path in sorted(glob.glob("deploy/kubernetes/*.yaml")):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    check(f"{path} holds manifests", docs)
    for doc in docs:
        what = f"{path}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        check(f"{what} has apiVersion, kind, metadata.name",
              doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"))
        if doc.get("kind") == "Deployment":
            sel = doc["spec"]["selector"]["matchLabels"]
            labels = doc["spec"]["template"]["metadata"]["labels"]
            check(f"{what} selector matches its pod labels",
                  all(labels.get(k) == v for k, v in sel.items()))
            for c in containers(doc):
                check(f"{what} container {c.get('name')} has an image", c.get("image"))
                if c.get("name") != "ringsql":
                    continue
                ports = {p["name"] for p in c.get("ports", [])}
                for probe, want in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                    get = c.get(probe, {}).get("httpGet", {})
                    check(f"{what} {probe} asks {want} on a declared port",
                          get.get("path") == want and get.get("port") in ports, str(get))
                check(f"{what} ringsql runs as non-root",
                      c.get("securityContext", {}).get("runAsNonRoot") is True)
        if doc.get("kind") == "ConfigMap" and "ringsql.yaml" in doc.get("data", {}):
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as tmp:
                tmp.write(doc["data"]["ringsql.yaml"])
            env = dict(os.environ, RINGSQL_APP_PASSWORD="example")
            proc = subprocess.run([ringsql, "--check", "-c", tmp.name], capture_output=True,
                                  text=True, env=env)
            os.unlink(tmp.name)
            check(f"{what} config passes ringsql --check", proc.returncode == 0,
                  proc.stderr.strip())

with open("Dockerfile") as f:
    dockerfile = f.read()
check("Dockerfile runs as a non-root user", "\nUSER 10001" in dockerfile)
check("Dockerfile starts ringsql -c /etc/ringsql/ringsql.yaml",
      '"-c", "/etc/ringsql/ringsql.yaml"' in dockerfile)
with open("deploy/systemd/ringsql.service") as f:
    unit = f.read()
check("systemd unit runs ringsql -c and reloads with SIGHUP",
      "ExecStart=/usr/bin/ringsql -c " in unit and "kill -HUP" in unit)

print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and detail:
        print(f"#   {detail}")
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
