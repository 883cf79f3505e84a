#!/usr/bin/env python3
"""Offline check of the Égide Helm chart (helm/egide) — no helm binary, no cluster.

1. Lints and renders the chart with helm-python-sdk, which binds (ctypes) to
   libhelm_c, the Helm v4 Go SDK compiled into a shared library shipped inside
   the wheel: real Helm template semantics (sprig, include, required, fail,
   values.schema.json), nothing to install but the wheel.
2. Renders several value sets: chart defaults, tilt/values-dev.yaml and two
   inline variants (hardened: approle, composed DB URLs, restricted network
   peers; minimal: PDB/NetworkPolicy/ServiceAccount creation disabled).
3. Validates every rendered manifest with kubernetes-validate in strict mode
   (unknown fields rejected) against the JSON schemas of one Kubernetes
   version, shipped offline inside that package.
4. Asserts project policy: hardened securityContext, probes, resources, a
   Service and PodDisruptionBudget per Deployment, a default-deny
   NetworkPolicy, secrets only through secretKeyRef, EGIDE_<SERVICE>__ env names.

Exit status 0 when everything passes, 1 on any failure (with a report).
Usage: python scripts/chart-check.py [--kube-version 1.30] [--chart helm/egide] [-v]
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:
    import helm_python as helm
    import kubernetes_validate
    from kubernetes_validate.utils import all_versions
except ImportError as exc:  # pragma: no cover - environment problem
    sys.exit(f"chart-check: missing dependency ({exc}); run: pip install -r scripts/chart-requirements.txt")

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ["gateway", "enrolment", "auth", "certval", "billing", "audit"]
UID = 65532

# Env vars that carry secrets and therefore must never hold a literal value
# (a `$(VAR)` reference to a secret-backed variable is accepted).
SECRET_ENV_SUFFIXES = ("__DATABASE__URL", "__VAULT__AUTH__SECRET_ID", "__VAULT__AUTH__TOKEN")


@dataclass
class ValueSet:
    name: str
    values: dict[str, Any]
    release: str = "egide"
    namespace: str = "egide"
    expect_pdb: bool = True
    expect_netpol: bool = True
    expect_serviceaccounts: bool = True
    # policy rules deliberately waived for this set (with the reason in the docstring/values)
    waive: set[str] = field(default_factory=set)


def value_sets() -> list[ValueSet]:
    dev_file = ROOT / "tilt" / "values-dev.yaml"
    dev = yaml.safe_load(dev_file.read_text()) if dev_file.exists() else None
    sets = [ValueSet("defaults", {})]
    if dev is not None:
        # Tilt live_update needs a writable root filesystem (see values-dev.yaml).
        sets.append(ValueSet("tilt-dev", dev, namespace="default", expect_pdb=False,
                             expect_netpol=False, waive={"readOnlyRootFilesystem"}))
    sets.append(ValueSet("hardened", {
        "image": {"repository": "registry.example.org/egide/egide", "tag": "1.2.3"},
        "imagePullSecrets": [{"name": "regcred"}],
        "commonLabels": {"egide.io/env": "prod"},
        "commonAnnotations": {"egide.io/owner": "platform"},
        "postgres": {"urlFromSecret": False, "host": "pg.db.svc", "port": 6432, "sslmode": "verify-full"},
        "vault": {"auth": {"method": "approle", "mount": "egide-approle",
                           "approle": {"existingSecret": "egide-vault-approle"}}},
        **{s: {"vault": {"roleId": f"role-id-{s}"}} for s in SERVICES},
        "pdb": {"minAvailable": 1},
        "networkPolicy": {
            "gatewayIngressFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}}],
            "egress": {
                "nats": {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nats"}}}]},
                "postgres": {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}]},
                "vault": {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "vault"}},
                                  "podSelector": {"matchLabels": {"app.kubernetes.io/name": "vault"}}}]},
                "insurer": {"cidrs": ["203.0.113.0/24", "198.51.100.10/32"]},
            },
        },
    }, release="prod"))
    gateway_minimal: dict[str, Any] = {
        "routes": {"audit": "http://audit.elsewhere:50051"},
        "service": {"type": "LoadBalancer"},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                       "whenUnsatisfiable": "ScheduleAnyway"}],
    }
    sets.append(ValueSet("minimal", {
        "fullnameOverride": "egide",
        "pdb": {"enabled": False},
        "networkPolicy": {"enabled": False},
        "serviceAccount": {"create": False, "automountToken": False},
        "audit": {"enabled": False},
        "gateway": gateway_minimal,
    }, release="minimal", expect_pdb=False, expect_netpol=False, expect_serviceaccounts=False))
    return sets


# --------------------------------------------------------------------------- rendering

def render(chart_dir: Path, vs: ValueSet, kube_version: str) -> tuple[list[tuple[str, dict]], list[str]]:
    """Lint + render one value set; returns ([(template, manifest)], errors)."""
    errors: list[str] = []
    report = helm.lint(str(chart_dir), vs.values, strict=True, namespace=vs.namespace,
                       kube_version=f"v{kube_version}.0")
    for msg in report.get("messages", []):
        if msg.get("severity", 0) >= 2:  # 2 = warning, 3 = error
            errors.append(f"lint: {msg.get('path')}: {msg.get('error')}")
    for err in report.get("errors", []) or []:
        errors.append(f"lint: {err}")

    docs: list[tuple[str, dict]] = []
    with helm.Chart.load(str(chart_dir)) as chart:
        try:
            chart.validate_schema(chart.merge_values(vs.values))
            rendered = chart.render(vs.values, name=vs.release, namespace=vs.namespace, is_install=True)
        except helm.HelmError as exc:
            return [], errors + [f"render: {exc}"]
    for template, text in sorted(rendered.items()):
        if not template.endswith((".yaml", ".yml")):
            continue  # NOTES.txt
        try:
            for doc in yaml.safe_load_all(text):
                if doc:
                    docs.append((template, doc))
        except yaml.YAMLError as exc:
            errors.append(f"{template}: invalid YAML: {exc}")
    return docs, errors


def validate(docs: list[tuple[str, dict]], kube_version: str) -> list[str]:
    errors = []
    for template, doc in docs:
        ident = f"{template}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            errors.append(f"{ident}: schema (k8s {exc.version}, strict): {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{ident}: {exc.message}")
    return errors


# --------------------------------------------------------------------------- policy

def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_container(ident: str, c: dict, pod: dict, component: str, vs: ValueSet) -> list[str]:
    out = []
    sc = c.get("securityContext") or {}
    psc = pod.get("securityContext") or {}

    def rule(name: str, ok: bool, msg: str) -> None:
        if not ok and name not in vs.waive:
            out.append(f"{ident}: container {c.get('name')}: {msg}")

    rule("readOnlyRootFilesystem", sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem must be true")
    rule("runAsNonRoot", sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, "runAsNonRoot must be true")
    rule("runAsUser", sc.get("runAsUser", psc.get("runAsUser")) == UID, f"runAsUser must be {UID}")
    rule("allowPrivilegeEscalation", sc.get("allowPrivilegeEscalation") is False,
         "allowPrivilegeEscalation must be false")
    rule("privileged", not sc.get("privileged", False), "must not be privileged")
    rule("capabilities", "ALL" in ((sc.get("capabilities") or {}).get("drop") or []), "capabilities must drop ALL")
    seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
    rule("seccomp", seccomp == "RuntimeDefault", "seccompProfile must be RuntimeDefault")
    res = c.get("resources") or {}
    rule("resources", bool(res.get("requests")) and bool(res.get("limits")), "resources requests and limits required")
    image = c.get("image", "")
    rule("image", ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"image {image!r} needs a pinned tag")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        rule("probes", probe in c, f"{probe} missing")
    if component and component != "gateway":
        live = (c.get("livenessProbe") or {}).get("grpc") or {}
        ready = (c.get("readinessProbe") or {}).get("grpc") or {}
        rule("probes", live.get("service") == "liveness", "livenessProbe must be grpc service 'liveness'")
        rule("probes", bool(ready) and ready.get("service", "") == "", "readinessProbe must be grpc service ''")
    elif component == "gateway":
        rule("probes", (c.get("livenessProbe") or {}).get("httpGet", {}).get("path") == "/healthz",
             "gateway livenessProbe must be GET /healthz")
        rule("probes", (c.get("readinessProbe") or {}).get("httpGet", {}).get("path") == "/readyz",
             "gateway readinessProbe must be GET /readyz")
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    tmp = [m for m in c.get("volumeMounts") or [] if m.get("mountPath") == "/tmp"]
    rule("tmp", bool(tmp) and "emptyDir" in volumes.get(tmp[0]["name"], {}), "/tmp must be an emptyDir mount")
    prefix = f"EGIDE_{component.upper()}__"
    for env in c.get("env") or []:
        name = env.get("name", "")
        if not name.startswith(prefix) and name != "EGIDE_DATABASE_PASSWORD":
            rule("env", False, f"env {name} does not follow {prefix}<SECTION>__<FIELD>")
        if name.endswith(SECRET_ENV_SUFFIXES) or name == "EGIDE_DATABASE_PASSWORD":
            literal = env.get("value")
            ok = literal is None and "secretKeyRef" in (env.get("valueFrom") or {})
            ok = ok or (literal is not None and "$(" in literal and "@" in literal)  # composed URL, secret via $(VAR)
            rule("secrets", ok, f"env {name} must come from a secretKeyRef")
    return out


def check_policy(docs: list[tuple[str, dict]], vs: ValueSet) -> list[str]:
    out: list[str] = []
    by_kind: dict[str, list[dict]] = {}
    for _, doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
        labels = doc["metadata"].get("labels") or {}
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by",
                    "app.kubernetes.io/part-of", "helm.sh/chart"):
            if key not in labels:
                out.append(f"{doc['kind']}/{doc['metadata']['name']}: label {key} missing")

    deployments = by_kind.get("Deployment", [])
    expected = {s for s in SERVICES if (vs.values.get(s) or {}).get("enabled", True)}
    found = {d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") for d in deployments}
    if found != expected:
        out.append(f"deployments for {sorted(found)} but expected {sorted(expected)}")

    accounts = {sa["metadata"]["name"] for sa in by_kind.get("ServiceAccount", [])}
    for d in deployments:
        ident = f"Deployment/{d['metadata']['name']}"
        pod = d["spec"]["template"]["spec"]
        pod_labels = d["spec"]["template"]["metadata"]["labels"]
        component = pod_labels.get("app.kubernetes.io/component", "")
        if not matches(d["spec"]["selector"]["matchLabels"], pod_labels):
            out.append(f"{ident}: selector does not match its pod template labels")
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            out.extend(check_container(ident, c, pod, component, vs))
        psc = pod.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True or (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            out.append(f"{ident}: pod securityContext must set runAsNonRoot and seccompProfile RuntimeDefault")
        if not any(matches(s["spec"].get("selector") or {}, pod_labels) for s in by_kind.get("Service", [])):
            out.append(f"{ident}: no Service selects its pods")
        pdbs = [p for p in by_kind.get("PodDisruptionBudget", [])
                if matches(p["spec"]["selector"].get("matchLabels") or {}, pod_labels)]
        if vs.expect_pdb and len(pdbs) != 1:
            out.append(f"{ident}: expected exactly one PodDisruptionBudget, found {len(pdbs)}")
        if vs.expect_serviceaccounts and pod.get("serviceAccountName") not in accounts:
            out.append(f"{ident}: ServiceAccount {pod.get('serviceAccountName')} not rendered")
        if vs.expect_netpol:
            own = [n for n in by_kind.get("NetworkPolicy", [])
                   if matches(n["spec"]["podSelector"].get("matchLabels") or {}, pod_labels)
                   and (n["spec"].get("ingress") or n["spec"].get("egress"))]
            if not own:
                out.append(f"{ident}: no NetworkPolicy allows its traffic")

    if not vs.expect_pdb and by_kind.get("PodDisruptionBudget"):
        out.append("PodDisruptionBudgets rendered although disabled")
    netpols = by_kind.get("NetworkPolicy", [])
    if vs.expect_netpol:
        deny = [n for n in netpols
                if set(n["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
                and not n["spec"].get("ingress") and not n["spec"].get("egress")
                and all(matches(n["spec"]["podSelector"].get("matchLabels") or {},
                                d["spec"]["template"]["metadata"]["labels"]) for d in deployments)]
        if not deny:
            out.append("no default-deny (Ingress+Egress) NetworkPolicy selecting every pod")
    elif netpols:
        out.append("NetworkPolicies rendered although disabled")
    return out


def check_values_documented(chart_dir: Path) -> list[str]:
    """Every leaf of values.yaml (or one of its ancestors) carries a `## @param` comment."""
    text = (chart_dir / "values.yaml").read_text()
    documented = set(re.findall(r"^\s*## @param (\S+)", text, flags=re.M))
    missing: list[str] = []

    def walk(node: Any, path: str) -> None:
        if path and path in documented:
            return
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        else:
            missing.append(path)

    walk(yaml.safe_load(text), "")
    stale = sorted(p for p in documented if not _has_path(yaml.safe_load(text), p))
    return ([f"values.yaml: {p} has no '## @param' documentation" for p in missing]
            + [f"values.yaml: '## @param {p}' documents a value that does not exist" for p in stale])


def _has_path(values: Any, dotted: str) -> bool:
    node = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


# --------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chart", default=str(ROOT / "helm" / "egide"))
    ap.add_argument("--kube-version", default="1.30", help="Kubernetes minor version to validate against")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every validated manifest")
    args = ap.parse_args()

    kube = args.kube_version.lstrip("v")
    kube_minor = ".".join(kube.split(".")[:2])
    shipped = {".".join(v.split(".")[:2]) for v in all_versions()}
    if kube_minor not in shipped:
        print(f"chart-check: kubernetes-validate {kubernetes_validate.__version__} has no schemas for "
              f"k8s {kube_minor} (ships {min(shipped, key=lambda v: tuple(map(int, v.split('.'))))}"
              f"..{max(shipped, key=lambda v: tuple(map(int, v.split('.'))))})", file=sys.stderr)
        return 1

    chart_dir = Path(args.chart)
    total = 0
    schema_failures: list[str] = []
    policy_failures: list[str] = []
    policy_failures += check_values_documented(chart_dir)
    for vs in value_sets():
        docs, errors = render(chart_dir, vs, kube_minor)
        schema_failures += [f"[{vs.name}] {e}" for e in errors]
        schema_errors = validate(docs, kube_minor)
        schema_failures += [f"[{vs.name}] {e}" for e in schema_errors]
        policy = check_policy(docs, vs) if docs else []
        policy_failures += [f"[{vs.name}] {e}" for e in policy]
        total += len(docs)
        status = "ok" if not (errors or schema_errors or policy) else "FAILED"
        kinds: dict[str, int] = {}
        for _, d in docs:
            kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        print(f"  {vs.name:<9} release={vs.release:<8} {len(docs):>3} manifests ({summary}) {status}")
        if args.verbose:
            for template, d in docs:
                print(f"      {template}: {d['kind']}/{d['metadata']['name']}")

    for title, failures in (("render/lint/schema errors", schema_failures), ("policy violations", policy_failures)):
        if failures:
            print(f"\n{title}:", file=sys.stderr)
            for f in failures:
                print(f"  - {f}", file=sys.stderr)

    valid = "valid" if not schema_failures else f"checked, {len(schema_failures)} schema/render errors"
    print(f"chart-check: {total} manifests {valid} (k8s {kube_minor}, helm SDK {helm.helm_sdk_version()}), "
          f"{len(policy_failures)} policy violations")
    return 1 if (schema_failures or policy_failures) else 0


if __name__ == "__main__":
    sys.exit(main())
