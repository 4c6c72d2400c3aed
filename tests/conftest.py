"""What every test under tests/ may use: whether Docker is there."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def docker_problem() -> str | None:
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
    """Tests that need Docker skip without it, unless CI is set: then they fail."""
    problem = docker_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but Docker is unusable: {problem}")
    pytest.skip(f"Docker is unusable here: {problem}")
