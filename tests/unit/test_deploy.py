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


def duration_s(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit) and text[: -len(unit)].isdigit():
            return int(text[: -len(unit)]) * units[unit]
    raise ValueError(text)


drain_s = {}  # manifest path -> shutdown.drain_timeout of its ConfigMap's ringsql config
for path in sorted(glob.glob("deploy/kubernetes/*.yaml")):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for doc in docs:
        if doc.get("kind") == "ConfigMap" and "ringsql.yaml" in doc.get("data", {}):
            conf = yaml.safe_load(doc["data"]["ringsql.yaml"])
            drain_s[path] = duration_s(conf.get("shutdown", {}).get("drain_timeout", "30s"))
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
                # SIGTERM drains: preStop + shutdown.drain_timeout must fit in the grace period.
                pod = doc["spec"]["template"]["spec"]
                grace = pod.get("terminationGracePeriodSeconds", 30)
                pre = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
                pre_s = int(pre[-1]) if pre and pre[0].endswith("sleep") else 0
                check(f"{what} has a preStop pause before the drain", pre_s > 0, str(pre))
                check(f"{what} grace period covers preStop + drain_timeout",
                      grace > pre_s + drain_s.get(path, 30),
                      f"grace {grace}s, preStop {pre_s}s, drain {drain_s.get(path, 30)}s")
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
stop = [int(line.split("=")[1]) for line in unit.splitlines() if line.startswith("TimeoutStopSec=")]
check("systemd unit waits longer than the default drain_timeout (30s) on stop",
      "KillSignal=SIGTERM" in unit and stop and stop[0] > 30, str(stop))
check("Dockerfile stops with SIGTERM (the drain)", "\nSTOPSIGNAL SIGTERM" in dockerfile)

print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and detail:
        print(f"#   {detail}")
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
