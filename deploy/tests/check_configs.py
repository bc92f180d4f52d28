#!/usr/bin/env python3
"""Static checks of the deployment configuration (issue 16), offline.

    python3 deploy/tests/check_configs.py [--promtool PATH] [--kubectl PATH] [--compose-config FILE]

What and why:
- Metric names: every PromQL expression in deploy/prometheus/alerts.yml and in
  the Grafana dashboards names only metrics of deploy/metrics.txt (the RAG
  service's contract), Prometheus's own `up`, or ALERTS. A renamed metric
  breaks alerts silently (an absent series never fires), so this is checked,
  not trusted. Histogram series (_bucket/_sum/_count) map to their base name.
- PromQL syntax of the dashboards: every panel and variable query is written
  into a temporary rules file as a recording rule and checked by
  `promtool check rules` (the same parser Prometheus uses; Grafana's
  $__rate_interval and $instance are replaced by values first).
- Grafana: every panel uses the provisioned datasource uid; panel ids unique.
- Compose (`docker compose config` output, given with --compose-config):
  only the service replicas and Grafana publish ports, all bound to 127.0.0.1;
  every service has a restart policy, a read-only root, the project label and
  a health check (its own or its image's); no environment variable carries a
  secret value (passwords and keys come as *_FILE paths under /run/secrets);
  Prometheus scrapes exactly the compose file's replicas on their port.
- Kubernetes: each overlay is rendered with `kubectl kustomize`; every object
  is validated against the Kubernetes OpenAPI schemas bundled by the PyPI
  package kubernetes-validate (1.37.0, strict: unknown fields are errors);
  the ServiceMonitor, a CRD those schemas lack, against the pydantic models of
  cloudcoil-models-prometheus-operator 0.80.1.0 (generated from the
  prometheus-operator v0.80.1 CRD), plus a round trip that rejects unknown
  fields (the models alone would drop them). Then the wiring: probe paths are
  the service's routes (/healthz for startup and liveness, /readyz for
  readiness), probe ports name a declared container port, that port is the
  one the container's --addr listens on and the Dockerfile's rag target
  exposes, selectors match the pod labels, the Service's targetPort and the
  ServiceMonitor's port exist, the root file system is read-only and the
  user is not root.
- Self-tests: a manifest with an unknown field, and an expression with a
  metric not in the list, must both be rejected, so the checks cannot pass
  vacuously.

Exit status 0 when everything holds; otherwise every problem is printed
(file, object, what is wrong) and the status is 1. Needs PyYAML,
kubernetes-validate and cloudcoil-models-prometheus-operator (pip pins above).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent.parent
REPO = DEPLOY.parent
K8S_VERSION = "1.32.0"
# Routes of the RAG service's contract that a probe may use (issue 12).
PROBE_ROUTES = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
RAG_PORT = 8080
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
ALLOWED_OTHER = {"up", "ALERTS", "ALERTS_FOR_STATE"}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
    "and", "or", "unless", "le", "inf", "nan",
    # aggregation operators, which may be followed by `by (...)` instead of `(`
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}

problems: list[str] = []


def problem(msg: str) -> None:
    problems.append(msg)


def load_metrics() -> set[str]:
    names = set()
    for line in (DEPLOY / "metrics.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            if not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line):
                problem(f"deploy/metrics.txt: '{line}' is not a metric name")
            names.add(line)
    return names


def strip_strings(expr: str) -> str:
    """Label values and regexes may contain anything; they are not metric names."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def metric_names(expr: str) -> set[str]:
    """Identifiers used as series selectors: `name{`, `name[` or a bare name
    that is neither a function (`name(`), a keyword nor a label name inside
    braces or by/without lists."""
    e = strip_strings(expr)
    e = re.sub(r"\{[^}]*\}", "{}", e)  # label matchers
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1()", e)
    e = re.sub(r"\[[^\]]*\]", "[]", e)  # ranges like [5m]
    names = set()
    for m in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", e):
        word = m.group(1)
        if word.lower() in PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def check_expr(where: str, expr: str, metrics: set[str]) -> None:
    for name in sorted(metric_names(expr)):
        base = name
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix) and name[: -len(suffix)] in metrics:
                base = name[: -len(suffix)]
        if base in metrics or base in ALLOWED_OTHER:
            continue
        problem(f"{where}: metric '{name}' is not in deploy/metrics.txt (expression: {expr.strip()[:120]})")


def check_alerts(metrics: set[str]) -> None:
    doc = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())
    count = 0
    for group in doc["groups"]:
        for rule in group["rules"]:
            count += 1
            where = f"deploy/prometheus/alerts.yml: {rule.get('alert') or rule.get('record')}"
            check_expr(where, rule["expr"], metrics)
            if 'job="roadmap-rag"' not in rule["expr"]:
                problem(f"{where}: selects no job (add job=\"roadmap-rag\", or it matches other services' series)")
            for key in ("severity",):
                if key not in rule.get("labels", {}):
                    problem(f"{where}: no '{key}' label")
            if "summary" not in rule.get("annotations", {}):
                problem(f"{where}: no summary annotation")
    if count == 0:
        problem("deploy/prometheus/alerts.yml: no rules")
    print(f"alerts: {count} rules, metric names checked")


def grafana_exprs(dash: dict) -> list[tuple[str, str]]:
    out = []
    for p in dash.get("panels", []):
        for t in p.get("targets", []):
            out.append((f"panel '{p['title']}' {t.get('refId')}", t["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"label_values\((.*),\s*\w+\)", q or "")
        if m:
            out.append((f"variable '{v['name']}'", m.group(1)))
    return out


def check_grafana(metrics: set[str], promtool: str | None) -> None:
    ds = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    uids = {d["uid"] for d in ds["datasources"]}
    if "url" not in ds["datasources"][0] or "prometheus:9090" not in ds["datasources"][0]["url"]:
        problem("grafana datasource: url is not the compose stack's prometheus:9090")
    prov = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/roadmap.yml").read_text())
    path = prov["providers"][0]["options"]["path"]
    dashboards = sorted((DEPLOY / "grafana/dashboards").glob("*.json"))
    if not dashboards:
        problem("deploy/grafana/dashboards: no dashboard")
    rules = []
    for f in dashboards:
        dash = json.loads(f.read_text())
        ids = [p["id"] for p in dash["panels"]]
        if len(ids) != len(set(ids)):
            problem(f"{f.name}: duplicate panel ids")
        for p in dash["panels"]:
            if p.get("datasource", {}).get("uid") not in uids:
                problem(f"{f.name}: panel '{p['title']}' uses datasource {p.get('datasource')}, not one of {uids}")
            if not p.get("targets"):
                problem(f"{f.name}: panel '{p['title']}' has no query")
        for where, expr in grafana_exprs(dash):
            check_expr(f"{f.name}: {where}", expr, metrics)
            concrete = expr.replace("$__rate_interval", "1m").replace("$instance", ".*")
            rules.append({"record": f"check:{len(rules)}", "expr": concrete})
        print(f"grafana: {f.name}: {len(dash['panels'])} panels, {len(rules)} queries, metric names checked")
    if promtool and rules:
        with tempfile.TemporaryDirectory() as tmp:
            rf = Path(tmp) / "dashboard_queries.yml"
            rf.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
            r = subprocess.run([promtool, "check", "rules", str(rf)], capture_output=True, text=True)
            if r.returncode != 0:
                problem(f"grafana: promtool rejects a dashboard query:\n{r.stdout}{r.stderr}")
            else:
                print(f"grafana: promtool parsed all {len(rules)} queries")
    elif not promtool:
        print("grafana: promtool not found, PromQL syntax of the dashboard not checked")
    if path != "/var/lib/grafana/dashboards":
        problem(f"grafana dashboard provider path {path} is not where compose mounts deploy/grafana/dashboards")


def check_compose(rendered: Path) -> None:
    doc = yaml.safe_load(rendered.read_text())
    services = doc["services"]
    rag = sorted(n for n, s in services.items() if "rag" in (s.get("command") or []))
    if len(rag) < 2:
        problem(f"compose: {len(rag)} RAG service replicas, expected at least 2")
    for name, s in services.items():
        where = f"compose service {name}"
        for p in s.get("ports", []):
            host_ip = p.get("host_ip") if isinstance(p, dict) else str(p).rsplit(":", 2)[0]
            if name not in rag and name != "grafana":
                problem(f"{where}: publishes {p}, but only the service replicas and Grafana may")
            if host_ip != "127.0.0.1":
                problem(f"{where}: port {p} is not bound to 127.0.0.1")
        if s.get("restart") not in ("always", "unless-stopped", "on-failure"):
            problem(f"{where}: no restart policy")
        if not s.get("read_only"):
            problem(f"{where}: root file system is not read-only")
        if (s.get("labels") or {}).get("org.roadmap.project") != "roadmap":
            problem(f"{where}: no org.roadmap.project=roadmap label")
        if not s.get("healthcheck") and name not in ("db", "prometheus"):
            # db and prometheus get theirs from their images (checked in their Dockerfiles).
            problem(f"{where}: no health check")
        for k, v in (s.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|TOKEN|API_KEY", k) and not k.endswith("_FILE") and not k.endswith("_USER"):
                problem(f"{where}: environment {k} carries a secret value; give a *_FILE path instead")
            if isinstance(v, str) and re.search(r"://[^/@\s]+:[^/@\s]+@", v):
                problem(f"{where}: environment {k} has a password in a URL")
            if k.endswith("_FILE") and ("PASSWORD" in k or "KEYS" in k) and not str(v).startswith("/run/secrets/"):
                problem(f"{where}: {k}={v} is not a mounted secret")
    for dockerfile in (REPO / "deploy/postgres/Dockerfile", REPO / "deploy/prometheus/Dockerfile"):
        if "HEALTHCHECK" not in dockerfile.read_text():
            problem(f"{dockerfile.relative_to(REPO)}: no HEALTHCHECK")
    nets = doc.get("networks", {})
    if not any(n.get("internal") for n in nets.values()):
        problem("compose: no internal (private) network")
    for name in ("db", "prometheus"):
        for net in services[name].get("networks", {}):
            if not nets.get(net, {}).get("internal"):
                problem(f"compose service {name}: on network {net}, which is not internal")
    prom = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    job = next(j for j in prom["scrape_configs"] if j["job_name"] == "roadmap-rag")
    targets = sorted(t for sc in job["static_configs"] for t in sc["targets"])
    want = sorted(f"{n}:{RAG_PORT}" for n in rag)
    if targets != want:
        problem(f"prometheus.yml scrapes {targets}, compose runs {want}")
    print(f"compose: {len(services)} services ({', '.join(rag)} replicas), ports, restart, labels, secrets checked")


def kube_validate(obj: dict, where: str) -> None:
    import kubernetes_validate

    try:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        path = ".".join(str(p) for p in e.path)
        problem(f"{where}: {path}: {e.message}")
    except kubernetes_validate.SchemaNotFoundError:
        if obj["kind"] == "ServiceMonitor":
            servicemonitor_validate(obj, where)
        else:
            problem(f"{where}: no schema for {obj['apiVersion']} {obj['kind']}")


def _unknown_fields(given, dumped, path="") -> list[str]:
    out = []
    if isinstance(given, dict) and isinstance(dumped, dict):
        for k, v in given.items():
            if k not in dumped:
                out.append(f"{path}.{k}".lstrip("."))
            else:
                out += _unknown_fields(v, dumped[k], f"{path}.{k}")
    elif isinstance(given, list) and isinstance(dumped, list):
        for i, (a, b) in enumerate(zip(given, dumped)):
            out += _unknown_fields(a, b, f"{path}[{i}]")
    return out


def servicemonitor_validate(obj: dict, where: str) -> None:
    from cloudcoil.models.prometheus_operator.v1 import ServiceMonitor

    try:
        model = ServiceMonitor.model_validate(obj)
    except Exception as e:  # pydantic.ValidationError lists every problem
        problem(f"{where}: {e}")
        return
    dumped = model.model_dump(by_alias=True, exclude_unset=True, mode="json")
    for f in _unknown_fields(obj, dumped):
        problem(f"{where}: unknown field {f} (not in the prometheus-operator ServiceMonitor schema)")


def dockerfile_rag_port() -> int | None:
    text = (REPO / "Dockerfile").read_text()
    m = re.search(r"FROM runtime AS rag\n(.*?)(?:\nFROM |\Z)", text, re.S)
    if not m:
        return None
    e = re.search(r"^EXPOSE (\d+)", m.group(1), re.M)
    return int(e.group(1)) if e else None


def check_k8s(kubectl: str) -> None:
    overlays = sorted(p for p in (DEPLOY / "k8s/overlays").iterdir() if (p / "kustomization.yaml").exists())
    if {p.name for p in overlays} < {"dev", "prod"}:
        problem("deploy/k8s/overlays: dev and prod are both needed")
    expose = dockerfile_rag_port()
    if expose != RAG_PORT:
        problem(f"Dockerfile rag target exposes {expose}, the service listens on {RAG_PORT}")
    for overlay in overlays:
        r = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True)
        if r.returncode != 0:
            problem(f"kustomize {overlay.name}: {r.stderr.strip()}")
            continue
        objs = [o for o in yaml.safe_load_all(r.stdout) if o]
        by_kind: dict[str, list[dict]] = {}
        for o in objs:
            where = f"k8s {overlay.name}: {o['kind']}/{o['metadata']['name']}"
            kube_validate(o, where)
            by_kind.setdefault(o["kind"], []).append(o)
        kinds = set(by_kind)
        need = {"Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                "NetworkPolicy", "ServiceMonitor"}
        if not need <= kinds:
            problem(f"k8s {overlay.name}: missing {sorted(need - kinds)}")
            continue
        dep = by_kind["Deployment"][0]
        pod = dep["spec"]["template"]
        pod_labels = pod["metadata"]["labels"]
        c = pod["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        where = f"k8s {overlay.name}: Deployment/{dep['metadata']['name']}"
        for probe, path in PROBE_ROUTES.items():
            p = c.get(probe)
            if not p:
                problem(f"{where}: no {probe}")
                continue
            got = p.get("httpGet", {})
            if got.get("path") != path:
                problem(f"{where}: {probe} path {got.get('path')}, expected {path}")
            port = got.get("port")
            number = ports.get(port) if isinstance(port, str) else port
            if number != RAG_PORT:
                problem(f"{where}: {probe} port {port} is not the service port {RAG_PORT}")
        addr = " ".join(c.get("args", []))
        if f"--addr 0.0.0.0:{RAG_PORT}" not in addr:
            problem(f"{where}: container args '{addr}' do not listen on 0.0.0.0:{RAG_PORT}")
        sc, psc = c.get("securityContext", {}), pod["spec"].get("securityContext", {})
        if not sc.get("readOnlyRootFilesystem"):
            problem(f"{where}: root file system not read-only")
        if not psc.get("runAsNonRoot") or psc.get("runAsUser", 0) == 0:
            problem(f"{where}: may run as root")
        if sc.get("allowPrivilegeEscalation") is not False or "ALL" not in sc.get("capabilities", {}).get("drop", []):
            problem(f"{where}: privilege escalation or capabilities not dropped")
        res = c.get("resources", {})
        if not res.get("requests") or not res.get("limits"):
            problem(f"{where}: no resource requests and limits")
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        for env in c.get("env", []):
            if env["name"] in ("ROADMAP_DATA_DIR", "ROADMAP_CACHE") and env.get("value") not in mounts:
                problem(f"{where}: {env['name']}={env.get('value')} is not a mounted (writable) volume")
        for sel_kind in ("Service", "PodDisruptionBudget", "NetworkPolicy"):
            for o in by_kind[sel_kind]:
                sel = o["spec"].get("selector") or o["spec"].get("podSelector")
                sel = sel.get("matchLabels", sel)
                if not sel or any(pod_labels.get(k) != v for k, v in sel.items()):
                    problem(f"k8s {overlay.name}: {sel_kind}/{o['metadata']['name']} selector {sel} does not select the pods {pod_labels}")
        svc = by_kind["Service"][0]
        svc_ports = {p["name"] for p in svc["spec"]["ports"]}
        for p in svc["spec"]["ports"]:
            if p["targetPort"] not in ports and p["targetPort"] not in ports.values():
                problem(f"k8s {overlay.name}: Service port {p['name']} targets {p['targetPort']}, not a container port")
        for sm in by_kind["ServiceMonitor"]:
            for ep in sm["spec"]["endpoints"]:
                if ep.get("port") not in svc_ports:
                    problem(f"k8s {overlay.name}: ServiceMonitor port {ep.get('port')} is not a Service port {svc_ports}")
                if ep.get("path", "/metrics") != "/metrics":
                    problem(f"k8s {overlay.name}: ServiceMonitor path {ep.get('path')} is not /metrics")
        hpa = by_kind["HorizontalPodAutoscaler"][0]
        if hpa["spec"]["scaleTargetRef"]["name"] != dep["metadata"]["name"]:
            problem(f"k8s {overlay.name}: the HPA scales {hpa['spec']['scaleTargetRef']['name']}")
        print(f"k8s {overlay.name}: {len(objs)} objects validated (Kubernetes {K8S_VERSION} schemas, strict), wiring checked")


def self_tests(metrics: set[str]) -> None:
    """The checks must be able to fail."""
    before = len(problems)
    check_expr("self-test", 'rate(roadmap_rag_not_a_metric_total{job="roadmap-rag"}[5m])', metrics)
    bad_metric = len(problems) > before
    del problems[before:]
    check_expr("self-test", 'histogram_quantile(0.9, sum by (le, route) (rate(roadmap_rag_request_duration_seconds_bucket{route=~"/v1/(ask|search)"}[5m]))) > up', metrics)
    good_metric = len(problems) == before
    del problems[before:]
    kube_validate({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                   "spec": {"ports": [{"port": 80, "targetPrt": 8080}]}}, "self-test")
    bad_field = len(problems) > before
    del problems[before:]
    kube_validate({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "x"},
                   "spec": {"selector": {}, "endpoints": [{"port": "http", "pth": "/metrics"}]}}, "self-test")
    bad_sm = len(problems) > before
    del problems[before:]
    for ok, what in ((bad_metric, "an unknown metric was not flagged"),
                     (good_metric, "a valid expression was flagged"),
                     (bad_field, "a Service with an unknown field passed validation"),
                     (bad_sm, "a ServiceMonitor with an unknown field passed validation")):
        if not ok:
            problem(f"self-test: {what}")
    print("self-tests: the checks reject an unknown metric and unknown manifest fields")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--promtool", default=shutil.which("promtool"))
    ap.add_argument("--kubectl", default=shutil.which("kubectl"))
    ap.add_argument("--compose-config", type=Path, help="output of `docker compose config` for deploy/compose.yaml")
    args = ap.parse_args()
    metrics = load_metrics()
    check_alerts(metrics)
    check_grafana(metrics, args.promtool)
    if args.compose_config:
        check_compose(args.compose_config)
    else:
        print("compose: no --compose-config given, not checked")
    if args.kubectl:
        check_k8s(args.kubectl)
    else:
        problem("kubectl not found: the Kubernetes manifests cannot be rendered (install kubectl)")
    self_tests(metrics)
    for p in problems:
        print(f"PROBLEM {p}")
    print(f"check_configs: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
