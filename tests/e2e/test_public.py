"""The public profile: `docker compose --profile public up` puts real Caddy in front of the UI,
with HTTPS on the public port and a login. `operator` reaches the full webserver, `viewer` a
read-only one; an empty password stops the profile before anything of it runs; the passwords
are nowhere in clear. One stack for the module; the tests run in this file's order."""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.compose_stack import (
    FINISHED,
    LOCATION_QUERY,
    RUN_QUERY,
    Stack,
    docker,
    execution_params,
    https_get,
    new_project_name,
    wait_until,
)

PASSWORDS = {"operator": secrets.token_urlsafe(16), "viewer": secrets.token_urlsafe(16)}
ENV = {
    "DAGSTER_OPERATOR_PASSWORD": PASSWORDS["operator"],
    "DAGSTER_VIEWER_PASSWORD": PASSWORDS["viewer"],
}
CORE = {"postgres", "user_code", "informes", "plataforma", "migrate", "webserver", "daemon"}
PUBLIC = {"public_auth", "webserver_readonly", "proxy"}
ROOT_CA = "/data/caddy/pki/authorities/local/root.crt"  # in the proxy's container
PERMISSIONS = "{ permissions { permission value } }"
# A colleague's machine on the stack's network: GET / from the proxy, by its name (verified
# against Caddy's root) and by its address (no name sent, as browsers do); prints each status.
COLLEAGUE = r"""
import socket, ssl
for host, name in [("proxy", "proxy"), (socket.gethostbyname("proxy"), None)]:
    context = ssl.create_default_context(cafile="/ca/root.crt")
    if name is None:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with context.wrap_socket(socket.create_connection((host, 443)), server_hostname=name) as tls:
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        print(tls.recv(100).split()[1].decode())
"""
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on Error { message }
  }
}"""


@pytest.fixture(scope="module")
def built(docker_ready) -> Iterator[Stack]:
    """The stack with the public profile and both passwords, its images built, not started."""
    stack = Stack(
        project=new_project_name("ventas-e2e-public"), profiles=("public",), extra_env=ENV
    )
    try:
        stack.prepare_data()
        stack.build()
        yield stack
    finally:
        stack.destroy()


@pytest.fixture(scope="module")
def public(built: Stack) -> Stack:
    """The stack started, every service healthy, the code location loaded."""
    try:
        built.up()
        built.wait_for_location()
    except BaseException:
        print(f"--- logs of {built.project} ---\n{built.logs()}")
        raise
    return built


@pytest.fixture(scope="module")
def root_ca(public: Stack, tmp_path_factory) -> Path:
    """Caddy's own root certificate, copied out of the proxy's container: what a browser is
    told to trust for localhost."""
    path = tmp_path_factory.mktemp("caddy") / "root.crt"
    docker("cp", f"{public.containers()['proxy']['Id']}:{ROOT_CA}", str(path))
    return path


class Login:
    """A browser's session with the public port: HTTPS verified against Caddy's root, as
    `user` with `password`."""

    def __init__(self, stack: Stack, root_ca: Path, user: str, password: str | None = None):
        self.url = stack.public_url
        self.session = requests.Session()
        self.session.auth = (user, PASSWORDS[user] if password is None else password)
        # Per request: requests lets REQUESTS_CA_BUNDLE override a session's `verify`.
        self.verify = str(root_ca)

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.url}{path}", verify=self.verify, timeout=60)

    def post(self, query: str, variables: dict | None = None) -> requests.Response:
        return self.session.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            verify=self.verify,
            timeout=60,
        )

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = self.post(query, variables)
        assert response.status_code == 200, response.text[:3000]
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def run_status(self, run_id: str) -> str:
        return self.graphql(RUN_QUERY, {"runId": run_id})["runOrError"]["status"]


def published(stack: Stack) -> dict[str, list[dict]]:
    """The host addresses each service's ports are published on."""
    return {
        service: [
            binding
            for bindings in (info["NetworkSettings"]["Ports"] or {}).values()
            for binding in bindings or []
        ]
        for service, info in stack.containers().items()
    }


def nothing_listens_on(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


# --- an empty password: nothing of the profile starts ------------------------------------


def assert_an_empty_password_stops_the_profile(stack: Stack, variable: str) -> None:
    """`up` with `variable` empty fails, saying what to set, and leaves no proxy or read-only
    webserver running (the core services may run)."""
    empty = dataclasses.replace(stack, extra_env={**ENV, variable: ""})

    result = empty.compose("up", "--detach", "--wait", check=False, timeout=300)

    assert result.returncode != 0
    assert 'service "public_auth" didn\'t complete successfully' in result.stdout + result.stderr
    log = empty.compose("logs", "--no-color", "public_auth").stdout
    assert (
        f"public_auth: {variable} is empty: the public profile needs a password for each "
        f"login; set it in .env ({variable}=...), then start again: "
        "docker compose --profile public up -d"
    ) in log, log
    containers = empty.containers()
    for service in ("proxy", "webserver_readonly"):  # created, not started
        info = containers[service]
        assert (info["State"]["Status"], info["RestartCount"]) == ("created", 0), service
    assert nothing_listens_on(empty.public_port)
    running = {s for s, info in containers.items() if info["State"]["Status"] == "running"}
    assert running <= CORE


def test_an_empty_viewer_password_stops_the_profile_before_the_proxy_or_viewer_start(built):
    assert_an_empty_password_stops_the_profile(built, "DAGSTER_VIEWER_PASSWORD")


# --- the profile with both passwords -----------------------------------------------------


def test_every_service_of_the_profile_is_up_and_hardened(public):
    containers = public.containers()
    assert set(containers) == CORE | PUBLIC
    auth = containers.pop("public_auth")["State"]
    assert (auth["Status"], auth["ExitCode"]) == ("exited", 0)
    for service in ("proxy", "webserver_readonly"):
        info = containers[service]
        assert info["State"]["Health"]["Status"] == "healthy", service
        host = info["HostConfig"]
        assert host["CapDrop"] == ["ALL"], service
        assert "no-new-privileges:true" in host["SecurityOpt"], service
        assert not [m for m in info["Mounts"] if m["Source"] == "/var/run/docker.sock"], service
    # The caddy:2 image's binary will not run without it; nothing else is kept.
    assert containers["proxy"]["HostConfig"]["CapAdd"] == ["NET_BIND_SERVICE"]
    assert containers["proxy"]["HostConfig"]["ReadonlyRootfs"]
    assert not containers["webserver_readonly"]["HostConfig"]["CapAdd"]
    # Only volumes the Compose file names, which `down -v` removes: the caddy:2 image
    # declares two more, which each run of public_auth would otherwise leave behind.
    for service, info in public.containers().items():
        anonymous = [
            m["Destination"]
            for m in info["Mounts"]
            if m["Type"] == "volume" and not m["Name"].startswith(f"{public.project}_")
        ]
        assert not anonymous, f"{service}: anonymous volumes at {anonymous}"


def test_only_the_proxy_is_added_to_what_is_published_and_the_ui_stays_on_loopback(public):
    ports = published(public)
    assert ports["webserver"] == [{"HostIp": "127.0.0.1", "HostPort": str(public.port)}]
    # The tests publish it on 127.0.0.1 (DAGSTER_PUBLIC_ADDRESS); users get 0.0.0.0.
    assert ports["proxy"] == [{"HostIp": "127.0.0.1", "HostPort": str(public.public_port)}]
    assert not any(b for service, b in ports.items() if service not in ("webserver", "proxy"))


def test_https_answers_with_a_certificate_from_caddys_own_ca(public, root_ca):
    # Not trusted by the system's CAs: the certificate really is Caddy's own CA's.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(public.public_url, timeout=30)
    for path in ("/", "/runs", "/graphql"):  # no login
        response = requests.get(f"{public.public_url}{path}", verify=str(root_ca), timeout=30)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Dagster"'


def test_with_only_the_passwords_set_every_name_and_address_reaches_the_login(public, root_ca):
    """As colleagues reach this machine: under any of its names, verified against Caddy's
    root; by an IP address, which browsers send no name for; and from another machine of the
    network (a container on the stack's network), by name and by address."""
    assert "DAGSTER_PUBLIC_HOST" not in public.env
    for name in ("localhost", socket.gethostname(), "dagster.intranet.example"):
        assert https_get(public.public_port, name, root_ca) == ({name}, 401)
    assert https_get(public.public_port, None, None)[1] == 401  # https://127.0.0.1:PORT

    network = f"{public.project}_dagster"
    ca = f"{root_ca}:/ca/root.crt:ro"
    colleague = docker(
        "run", "--rm", "--network", network, "--volume", ca, "python:3.13-slim",
        "python", "-c", COLLEAGUE, check=False,
    )  # fmt: skip
    # The colleague's own error, if it has one: it failed once in CI without saying why.
    assert colleague.stdout.split() == ["401", "401"], colleague.stdout + colleague.stderr


def test_a_public_domain_in_dagster_public_host_gets_lets_encrypt(public):
    """In the proxy's own Caddy: the domain's certificate from Caddy's default issuers (Let's
    Encrypt), every other name's from its own CA."""
    adapted = public.compose(
        "exec", "-T", "-e", "DAGSTER_PUBLIC_HOST=dagster.example.com", "proxy",
        "caddy", "adapt", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile",
    ).stdout  # fmt: skip
    policies = json.loads(adapted)["apps"]["tls"]["automation"]["policies"]
    assert policies == [
        {"subjects": ["dagster.example.com"]},
        {"issuers": [{"module": "internal"}], "on_demand": True},
    ]


@pytest.mark.parametrize(
    "user, password",
    [
        ("operator", "not-the-password"),
        ("viewer", "not-the-password"),
        ("operator", PASSWORDS["viewer"]),
        ("viewer", PASSWORDS["operator"]),
        ("admin", PASSWORDS["operator"]),
        ("operator", ""),
    ],
)
def test_a_wrong_password_gets_401_on_the_pages_and_on_graphql(public, root_ca, user, password):
    login = Login(public, root_ca, user, password)
    assert login.get("/runs").status_code == 401
    assert login.post(PERMISSIONS).status_code == 401


def test_the_viewer_sees_the_uis_pages_and_data(public, root_ca):
    viewer = Login(public, root_ca, "viewer")
    page = viewer.get("/runs")
    assert page.status_code == 200
    assert "<title" in page.text and ">Dagster</title>" in page.text
    script = re.search(r'src="(/_next/static/[^"]+\.js)"', page.text)
    assert script, page.text[:2000]
    assert viewer.get(script[1]).status_code == 200

    workspace = viewer.graphql(LOCATION_QUERY)["workspaceOrError"]
    (entry,) = [e for e in workspace["locationEntries"] if e["name"] == "ventas"]
    (repository,) = entry["locationOrLoadError"]["repositories"]
    assert "procesar_ventas" in {job["name"] for job in repository["jobs"]}
    # What the UI asks before it offers a button: every change is off.
    permissions = viewer.graphql(PERMISSIONS)["permissions"]
    assert permissions and not [p for p in permissions if p["value"]], permissions


def test_the_viewer_cannot_launch_a_run(public, root_ca):
    viewer = Login(public, root_ca, "viewer")
    runs_before = public.runs()

    result = viewer.graphql(LAUNCH, {"params": execution_params("procesar_ventas")})

    # What dagster-webserver --read-only answers: HTTP 200, the mutation's own error type.
    assert result["launchRun"] == {
        "__typename": "UnauthorizedError",
        "message": "Authorization failed",
    }
    assert public.runs() == runs_before


def test_the_operator_launches_procesar_ventas_and_the_viewer_sees_it_succeed(public, root_ca):
    operator, viewer = Login(public, root_ca, "operator"), Login(public, root_ca, "viewer")
    permissions = {
        p["permission"]: p["value"] for p in operator.graphql(PERMISSIONS)["permissions"]
    }
    assert permissions["launch_pipeline_execution"] and permissions["terminate_pipeline_execution"]

    result = operator.graphql(LAUNCH, {"params": execution_params("procesar_ventas")})
    assert result["launchRun"]["__typename"] == "LaunchRunSuccess", result
    run_id = result["launchRun"]["run"]["runId"]

    def finished() -> str | None:
        status = operator.run_status(run_id)
        return status if status in FINISHED else None

    status = wait_until(finished, 180, f"run {run_id} to finish", interval=0.25)
    assert status == "SUCCESS", public.logs()
    assert viewer.run_status(run_id) == "SUCCESS"


def test_the_passwords_are_nowhere_in_clear(public, root_ca):
    secrets_ = [p.encode() for p in PASSWORDS.values()]
    containers = public.containers()
    proxy = containers["proxy"]["Id"]

    logs = public.compose("logs", "--no-color", "--timestamps").stdout
    assert "public_auth: wrote the bcrypt hashes" in logs
    assert not [p for p in PASSWORDS.values() if p in logs]

    # Every file in the proxy's volumes and tmpfs: the hashes and certificates, read as the
    # proxy reads them.
    files = subprocess.run(
        ["docker", "exec", proxy, "find", "/auth", "/data", "/config", "-type", "f"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "/auth/users" in files and ROOT_CA in files, files
    content = subprocess.run(
        ["docker", "exec", proxy, "cat", *files], capture_output=True, check=True
    ).stdout
    assert content.count(b" $2a$") == 2  # operator's and viewer's bcrypt hashes
    assert not [p for p in secrets_ if p in content]
    # Nothing written outside them (the root file system is read-only): the container's own
    # layer holds only the mount point Docker made for the hashes' volume.
    assert docker("diff", proxy).stdout.split("\n")[:-1] == ["A /auth"]

    # Only the one-shot public_auth gets the passwords, in its environment (as .env's values
    # are in every service's); no other container's configuration, and no image, holds them.
    for service, info in containers.items():
        found = [p for p in PASSWORDS.values() if p in str(info)]
        assert found == (list(PASSWORDS.values()) if service == "public_auth" else []), service
    images = {info["Image"] for info in containers.values()}
    described = docker("image", "inspect", *images).stdout
    for image in images:
        described += docker("history", "--no-trunc", image).stdout
    assert not [p for p in PASSWORDS.values() if p in described]
    # The proxy runs caddy:2 as it is: no image was made here.
    caddy = docker("image", "inspect", "--format", "{{.Id}}", "caddy:2").stdout.strip()
    assert containers["proxy"]["Image"] == caddy


def test_a_new_password_in_env_takes_effect_at_the_next_up(public, root_ca):
    old = PASSWORDS["viewer"]
    new = f"{secrets.token_urlsafe(12)} $HOME 'q' \"dq\" \\ #"  # what a shell would mangle
    changed = dataclasses.replace(public, extra_env={**ENV, "DAGSTER_VIEWER_PASSWORD": new})

    changed.up()  # reruns public_auth, then restarts the proxy (depends_on: restart: true)

    assert Login(changed, root_ca, "viewer", new).get("/runs").status_code == 200
    assert Login(changed, root_ca, "viewer", old).get("/runs").status_code == 401
    assert Login(changed, root_ca, "operator").get("/runs").status_code == 200


# --- last: emptied on the running stack ---------------------------------------------------


def test_an_operator_password_emptied_later_takes_the_proxy_and_viewer_down(public):
    """Compose recreates what depends on the rerun public_auth: the login fails closed."""
    assert public.containers()["proxy"]["State"]["Status"] == "running"
    assert_an_empty_password_stops_the_profile(public, "DAGSTER_OPERATOR_PASSWORD")
