"""The Helm chart's pods rehearsed in Docker, as far as no cluster allows.

The project's images run exactly as the chart renders them with deploy/kubernetes/values.yaml
(commands, arguments, environment, ConfigMaps, the instance and the workspace, volumes, user
1000 with no capability) against a Postgres, on one Docker network. Two stand-ins play
Kubernetes: an API server, over TLS with the pods' service-account CA, that takes the Jobs the
daemon's K8sRunLauncher creates and reports their status; and a kubelet that runs each pod
spec (the chart's Deployments, then every Job) as `docker run`. A run of procesar_ventas and
one of informe_semanal succeed, each in its own location's image, writing as uid 1000.

Not rehearsed: scheduling, init containers (a pod's restarts stand in for their waits) and
probes, RBAC, Services beyond their names, real volumes (host directories stand in for the
claims).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme
import yaml

from tests.e2e.compose_stack import Stack, as_root, docker, free_port, new_project_name
from tests.kubernetes.test_chart import chart, helm_template  # noqa: F401 - the chart fixture

pytestmark = pytest.mark.kubernetes

RELEASE = "ventas"
PG_PASSWORD = secrets.token_hex(8)
API_HOST = "kubernetes.default.svc"
SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"

# The API server's stand-in: Jobs are created into, and their status read from, /api/jobs.
API_SERVER = """
import json, pathlib, re, ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
JOBS = pathlib.Path("/api/jobs")
JOB = re.compile(r"/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/]+)(/status)?)?")

class Handler(BaseHTTPRequestHandler):
    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body["metadata"]["namespace"] = JOB.fullmatch(self.path.split("?")[0])[1]
        (JOBS / (body["metadata"]["name"] + ".json")).write_text(json.dumps(body))
        self.reply(201, body)

    def do_GET(self):
        match = JOB.fullmatch(self.path.split("?")[0])
        job = JOBS / f"{match and match[2]}.json"
        if not job.exists():
            return self.reply(404, {"kind": "Status", "apiVersion": "v1", "code": 404,
                                    "status": "Failure", "reason": "NotFound"})
        body = json.loads(job.read_text())
        status = job.with_suffix(".status")
        body["status"] = json.loads(status.read_text()) if status.exists() else {"active": 1}
        self.reply(200, body)

context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain("/api/server.pem")
server = ThreadingHTTPServer(("0.0.0.0", 443), Handler)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""


class Cluster:
    """The rendered release's pods as Docker containers, and the stand-ins around them."""

    def __init__(self, stack: Stack, objects: list[dict], work: Path):
        self.stack, self.objects, self.work = stack, objects, work
        self.name = stack.project
        self.images = {  # the registry's names in the values -> the images built here
            f"registry.example.com/ventas/{image}:1": f"{stack.project}-{image}"
            for image in ("user_code", "informes", "plataforma", "dagster")
        }
        self.claims = {"ventas-data": stack.data_dir, "ventas-compute-logs": work / "logs"}
        self.config_maps = {
            o["metadata"]["name"]: o.get("data") or {} for o in objects if o["kind"] == "ConfigMap"
        }
        self.secrets = {("ventas-postgresql", "postgresql-password"): PG_PASSWORD}
        self.jobs = work / "api" / "jobs"
        self.stopping = threading.Event()
        self.job_runs: dict[str, int] = {}

    def start(self) -> None:
        for directory in (self.claims["ventas-compute-logs"], self.jobs):
            directory.mkdir(parents=True)
        as_root(self.work / "logs", "chown", "1000:1000", "/data")
        self._service_account()
        docker("network", "create", "--label", f"ventas.rehearsal={self.name}", self.name)
        self._container(
            "postgres",
            ["--network-alias", "postgres.example.internal"],
            ["-e", "POSTGRES_USER=dagster", "-e", f"POSTGRES_PASSWORD={PG_PASSWORD}"],
            ["postgres:17"],
        )
        (self.work / "api" / "server.py").write_text(API_SERVER)
        self._container(
            "api",
            ["--network-alias", API_HOST, "-v", f"{self.work / 'api'}:/api"],
            [],
            ["python:3.13-slim", "python", "/api/server.py"],
        )
        for deployment in (o for o in self.objects if o["kind"] == "Deployment"):
            self.run_pod(deployment["metadata"]["name"], deployment["spec"]["template"])
        threading.Thread(target=self._kubelet, daemon=True).start()

    def _service_account(self) -> None:
        """What Kubernetes mounts into a pod: a token, the API server's CA, the namespace."""
        ca = trustme.CA()
        ca.issue_cert(API_HOST).private_key_and_cert_chain_pem.write_to_path(
            str(self.work / "api" / "server.pem")
        )
        account = self.work / "serviceaccount"
        account.mkdir()
        ca.cert_pem.write_to_path(str(account / "ca.crt"))
        (account / "token").write_text("not-a-token")
        (account / "namespace").write_text("ventas")
        for path in (
            account,
            *account.iterdir(),
            self.work / "api",
            *(self.work / "api").iterdir(),
        ):
            path.chmod(0o755 if path.is_dir() else 0o644)

    def _container(self, name: str, options: list, env: list, command: list, detach=True):
        flags = ["--detach"] if detach else ["--rm"]
        return docker(
            "run", *flags, "--name", f"{self.name}-{name}", "--network", self.name,
            "--label", f"ventas.rehearsal={self.name}", *options, *env, *command,
            check=detach, timeout=900,
        )  # fmt: skip

    def run_pod(self, name: str, template: dict, detach: bool = True) -> int:
        """A pod template as a container: its first container, as the kubelet would run it
        (init containers and probes left out), reachable by the names of its Services."""
        spec, labels = template["spec"], template["metadata"].get("labels", {})
        container = spec["containers"][0]
        pod, own = spec.get("securityContext") or {}, container.get("securityContext") or {}
        user = {**pod, **own}
        assert user.get("runAsNonRoot") and user["runAsUser"] != 0, name
        options = ["--user", f"{user['runAsUser']}:{user['runAsGroup']}"]
        options += ["--group-add", str(pod["fsGroup"])]
        if own.get("capabilities", {}).get("drop") == ["ALL"]:
            options += ["--cap-drop", "ALL"]
        if own.get("allowPrivilegeEscalation") is False:
            options += ["--security-opt", "no-new-privileges"]
        # A Deployment's pod is restarted when it exits (Always, the default): in a cluster the
        # chart's init container holds the daemon until the database answers; here the daemon
        # gives up after about 14 s without it and this restart is what waits.
        restart = {"Always": "always", "OnFailure": "on-failure"}.get(
            spec.get("restartPolicy", "Always")
        )
        if restart:
            options += ["--restart", restart]
        limits = (container.get("resources") or {}).get("limits", {})
        if "memory" in limits:
            options += ["--memory", limits["memory"].replace("Gi", "g").replace("Mi", "m")]
        if "cpu" in limits:
            cpu = limits["cpu"]
            options += ["--cpus", str(int(cpu[:-1]) / 1000 if cpu.endswith("m") else cpu)]
        services = [
            o["metadata"]["name"]
            for o in self.objects
            if o["kind"] == "Service" and o["spec"]["selector"].items() <= labels.items()
        ]
        for service in services:
            options += ["--network-alias", service]
        if f"{RELEASE}-dagster-webserver" in services:
            self.stack.port = free_port()
            options += ["--publish", f"127.0.0.1:{self.stack.port}:3000"]
        options += self._volumes(spec, container)
        command = []
        if container.get("command"):
            options += ["--entrypoint", container["command"][0]]
            command = container["command"][1:]
        image = self.images.get(container["image"], container["image"])
        label = name if detach else f"job-{name[-12:]}"
        result = self._container(
            label, options, self._env(container), [image, *command, *container.get("args", [])],
            detach=detach,
        )  # fmt: skip
        return result.returncode

    def _env(self, container: dict) -> list[str]:
        env = {"KUBERNETES_SERVICE_HOST": API_HOST, "KUBERNETES_SERVICE_PORT": "443"}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                env.update(self.config_maps[source["configMapRef"]["name"]])
            elif not source["secretRef"].get("optional"):
                raise AssertionError(f"no stand-in for the Secret {source['secretRef']}")
        for variable in container.get("env", []):
            if "value" in variable:
                env[variable["name"]] = variable["value"]
            else:
                ref = variable["valueFrom"]["secretKeyRef"]
                env[variable["name"]] = self.secrets[(ref["name"], ref["key"])]
        return [option for name, value in env.items() for option in ("-e", f"{name}={value}")]

    def _volumes(self, spec: dict, container: dict) -> list[str]:
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        options = []
        if spec.get("automountServiceAccountToken", True):
            options += ["-v", f"{self.work / 'serviceaccount'}:{SERVICE_ACCOUNT}:ro"]
        for mount in container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            if "persistentVolumeClaim" in volume:
                source = self.claims[volume["persistentVolumeClaim"]["claimName"]]
            else:  # a ConfigMap: its keys as files
                files = self.work / "configmaps" / mount["name"]
                files.mkdir(parents=True, exist_ok=True)
                for key, text in self.config_maps[volume["configMap"]["name"]].items():
                    (files / key).write_text(text)
                    (files / key).chmod(0o644)
                files.chmod(0o755)
                source = files / mount["subPath"] if "subPath" in mount else files
            options += ["-v", f"{source}:{mount['mountPath']}"]
        return options

    def _kubelet(self) -> None:
        """Every Job the API server stand-in takes, run once, its outcome reported back."""
        while not self.stopping.is_set():
            for job in sorted(self.jobs.glob("*.json")):
                name = job.stem
                if name in self.job_runs:
                    continue
                template = json.loads(job.read_text())["spec"]["template"]
                self.job_runs[name] = code = self.run_pod(name, template, detach=False)
                status = {"succeeded": 1} if code == 0 else {"failed": 1}
                job.with_suffix(".status").write_text(json.dumps(status))
            time.sleep(0.5)

    def job_exit_code(self, name: str, timeout: float = 60) -> int:
        """How the Job's container ended (it may outlive the run's last event by a moment)."""
        deadline = time.monotonic() + timeout
        while name not in self.job_runs and time.monotonic() < deadline:
            time.sleep(0.2)
        return self.job_runs[name]

    def destroy(self) -> None:
        self.stopping.set()
        label = f"label=ventas.rehearsal={self.name}"
        if ids := docker("ps", "-aq", "--filter", label).stdout.split():
            docker("rm", "--force", "--volumes", *ids, check=False)
        docker("network", "rm", self.name, check=False)
        as_root(self.work, "sh", "-c", "rm -rf /data/*")

    def logs(self) -> str:
        """The last lines of every container of the rehearsal, each under its name."""
        label = f"label=ventas.rehearsal={self.name}"
        out = [f"--- logs of {self.name} ---"]
        for name in docker("ps", "-a", "--filter", label, "--format", "{{.Names}}").stdout.split():
            logs = docker("logs", "--tail", "40", name, check=False)
            out.append(f"--- {name}\n{(logs.stdout + logs.stderr)[-3000:]}")
        return "\n".join(out)


@pytest.fixture(scope="module")
def cluster(chart, docker_ready, tmp_path_factory) -> Iterator[Cluster]:  # noqa: F811
    rendered = helm_template(chart, "--skip-schema-validation")
    objects = [o for o in yaml.safe_load_all(rendered) if o]
    stack = Stack(project=new_project_name("ventas-k8s"), data_owner=(1000, 1000))
    cluster = Cluster(stack, objects, tmp_path_factory.mktemp("cluster"))
    try:
        stack.prepare_data()
        # The images for the chart, with dagster-k8s (docs/kubernetes.md).
        stack.compose("build", "--quiet", "--build-arg", "EXTRAS=kubernetes")
        cluster.start()
        deadline = time.monotonic() + 180
        while True:
            try:
                requests.get(f"{stack.url}/server_info", timeout=5).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        for location in ("ventas", "informes", "plataforma"):
            stack.wait_for_location(location, timeout=180)
        yield cluster
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        cluster.destroy()
        stack.destroy()


@contextlib.contextmanager
def pods_logs_on_failure(cluster: Cluster) -> Iterator[None]:
    """A failure with the pods' last lines: in CI, the only trace of a pod that died."""
    try:
        yield
    except (AssertionError, TimeoutError) as error:
        raise AssertionError(f"{error}\n{cluster.logs()}") from error


def test_the_chart_runs_the_instance_with_the_k8s_launcher_and_a_healthy_daemon(cluster):
    query = (
        "{ instance { runLauncher { name } daemonHealth { allDaemonStatuses "
        "{ daemonType healthy required } } } }"
    )
    deadline = time.monotonic() + 120
    while True:
        instance = cluster.stack.graphql(query)["instance"]
        statuses = instance["daemonHealth"]["allDaemonStatuses"]
        if all(s["healthy"] for s in statuses if s["required"]) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert instance["runLauncher"]["name"] == "K8sRunLauncher"
    with pods_logs_on_failure(cluster):
        assert all(s["healthy"] for s in statuses if s["required"]), statuses


@pytest.mark.parametrize(
    "location, job, image, output",
    [
        ("ventas", "procesar_ventas", "user_code", "output/ventas_por_categoria.parquet"),
        ("informes", "informe_semanal", "informes", "output/informes/resumen_semanal.parquet"),
    ],
)
def test_a_run_is_a_job_of_its_locations_image_and_writes_as_uid_1000(
    cluster, location, job, image, output
):
    stack = cluster.stack
    # The report reads what procesar_ventas writes: made first when no test has yet, so that
    # each case passes on its own.
    with pods_logs_on_failure(cluster):
        if (
            job == "informe_semanal"
            and not (stack.data_dir / "output/ventas_por_dia.parquet").exists()
        ):
            upstream = stack.wait_for_run(stack.launch("procesar_ventas"), timeout=300)
            assert upstream["status"] == "SUCCESS", stack.run_log(upstream["runId"])
        run = stack.wait_for_run(stack.launch(job, location=location), timeout=300)
    assert run["status"] == "SUCCESS", stack.run_log(run["runId"])
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["dagster/image"] == f"registry.example.com/ventas/{image}:1"
    assert cluster.job_exit_code(f"dagster-run-{run['runId']}") == 0
    written = stack.data_dir / output
    assert (written.stat().st_uid, written.stat().st_gid) == (1000, 1000)
    # What it printed is where the webserver reads it.
    assert list((cluster.claims["ventas-compute-logs"] / run["runId"]).rglob("*.out"))
