"""End-to-end fixtures: a real stack in Docker, shared by the tests of a session."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from compose_stack import Stack, running_stack


def _docker_available() -> str | None:
    """None if Docker and Compose v2 answer, else why not."""
    if shutil.which("docker") is None:
        return "the docker command is not installed"
    for cmd in (["docker", "info"], ["docker", "compose", "version"]):
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            return f"`{' '.join(cmd)}` failed: {result.stderr.strip()[:300]}"
    return None


@pytest.fixture(scope="session")
def docker_ready() -> None:
    problem = _docker_available()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but Docker is unusable: {problem}")
    pytest.skip(f"Docker is unusable here: {problem}")


@pytest.fixture(scope="session")
def stack(docker_ready) -> Stack:
    with running_stack("ventas-e2e") as s:
        yield s
