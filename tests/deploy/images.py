"""A tool of one of the stack's images, run in a throwaway container with no network."""

from __future__ import annotations

import subprocess
from pathlib import Path

PROMETHEUS = "prom/prometheus:v3.5.0"
ALERTMANAGER = "prom/alertmanager:v0.28.1"


def in_image(image: str, tool: str, folder: Path, mount: str, *args: str) -> str:
    """`tool args` in `image`, with `folder` read-only at `mount`; its output, if it
    succeeds."""
    result = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            tool,
            "--volume",
            f"{folder}:{mount}:ro",
            image,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{tool} {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout
