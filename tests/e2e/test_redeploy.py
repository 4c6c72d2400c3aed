"""Redeploying user code in a running stack: one command, nothing else restarts, runs in flight
finish on the old code, later runs use the new code, and broken code shows its Python error.

The stack runs from a copy of the project, which the tests edit like a user would.
"""

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.compose_stack import (
    add_deploy_assets,
    docker,
    project_copy,
    running_stack,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("docker_ready")

UNTOUCHED = ("postgres", "webserver", "daemon")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    source = project_copy(tmp_path_factory.mktemp("redeploy"))
    assets = add_deploy_assets(source)
    with running_stack("ventas-e2e-redeploy", project_dir=source) as stack:
        yield stack, assets


def deploy_version(assets: Path, version: str, new_asset: str | None = None) -> None:
    """Change the deployed VERSION, and add an asset named `new_asset`."""
    text = re.sub(
        r'^VERSION = ".*"$',
        f'VERSION = "{version}"',
        assets.read_text(encoding="utf-8"),
        count=1,
        flags=re.MULTILINE,
    )
    if new_asset:
        text += (
            f'\n\n@dg.asset(group_name="despliegue")\ndef {new_asset}() -> pd.DataFrame:\n'
            '    return pd.DataFrame({"version": [VERSION]})\n'
        )
    assets.write_text(text, encoding="utf-8")


def asset_names(stack) -> set[str]:
    location = stack.location()["locationOrLoadError"]
    if location["__typename"] != "RepositoryLocation":
        return set()
    return {"/".join(n["assetKey"]["path"]) for n in location["repositories"][0]["assetNodes"]}


def starts(stack) -> dict[str, tuple[str, int]]:
    return {
        s: (c["State"]["StartedAt"], c["RestartCount"])
        for s, c in stack.containers().items()
        if s in UNTOUCHED
    }


def redeploy(stack) -> None:
    stack.compose("up", "--detach", "--build", "user_code")


def image_id(image: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", image).stdout.strip()


def version_output(stack) -> str:
    frame = pd.read_parquet(stack.data_dir / "output" / "version_desplegada.parquet")
    return frame["version"].iloc[0]


def test_a_redeploy_shows_new_code_leaves_the_rest_running_and_runs_land_on_the_right_code(
    deployed,
):
    stack, assets = deployed
    before = starts(stack)
    old_image = image_id(f"{stack.project}-user_code")
    slow = stack.launch(assets=["espera_lenta"])
    wait_until(lambda: stack.run(slow)["status"] == "STARTED", 60, "the slow run to start")
    # A container of the old image waits for the next run, with the old code loaded.
    old_standbys = wait_until(stack.standbys, 60, "a container started ahead of the next run")

    deploy_version(assets, "v2", new_asset="nuevo_en_v2")
    started = time.monotonic()
    redeploy(stack)
    wait_until(lambda: "nuevo_en_v2" in asset_names(stack), 60, "the new asset in the UI's API")
    print(f"redeploy -> new definition visible: {time.monotonic() - started:.1f} s")

    assert starts(stack) == before, "a service other than user_code restarted"
    assert image_id(f"{stack.project}-user_code") != old_image
    # The daemon removes it: it would run the next run on the old code.
    wait_until(
        lambda: not set(old_standbys) & set(stack.standbys()), 30, "the old image's standby gone"
    )
    # The slow run waits for the test: it is still in flight on the old image.
    assert stack.run(slow)["status"] == "STARTED"

    # It finishes, on the code it started with...
    (stack.data_dir / "seguir").touch()
    finished = stack.wait_for_run(slow, timeout=120)
    assert finished["status"] == "SUCCESS"
    slow_output = pd.read_parquet(stack.data_dir / "output" / "espera_lenta.parquet")
    assert slow_output["version"].iloc[0] == "v1"
    # ...and a run launched now uses the new image.
    run = stack.wait_for_run(stack.launch(assets=["version_desplegada", "nuevo_en_v2"]))
    assert run["status"] == "SUCCESS"
    assert version_output(stack) == "v2"


def test_broken_code_shows_its_python_error_and_a_fixed_redeploy_recovers(deployed):
    stack, assets = deployed
    good = assets.read_text(encoding="utf-8")
    before = starts(stack)
    assets.write_text(
        good + '\nraise RuntimeError("a deliberate mistake in assets.py")\n', encoding="utf-8"
    )
    redeploy(stack)

    def load_error() -> str:
        error = stack.location()["locationOrLoadError"]
        if error["__typename"] != "PythonError":
            return ""
        return json.dumps(error)

    assert "a deliberate mistake in assets.py" in wait_until(load_error, 60, "the load error")
    user_code = stack.containers()["user_code"]
    assert user_code["State"]["Status"] == "running" and user_code["RestartCount"] == 0

    assets.write_text(good, encoding="utf-8")
    redeploy(stack)
    wait_until(lambda: "version_desplegada" in asset_names(stack), 60, "the location to recover")
    assert starts(stack) == before
    assert stack.wait_for_run(stack.launch(assets=["version_desplegada"]))["status"] == "SUCCESS"


def test_compose_watch_rebuilds_user_code_when_a_file_is_saved(deployed):
    stack, assets = deployed
    before = starts(stack)
    log = stack.data_dir.parent / f"{stack.project}-watch.log"
    with log.open(
        "w", encoding="utf-8"
    ) as output:  # a file, not a pipe: watch writes a lot and must not block
        watch = subprocess.Popen(
            ["docker", "compose", "watch", "user_code"],
            cwd=stack.project_dir,
            env=stack.env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: "Watch enabled" in log.read_text(encoding="utf-8") or watch.poll() is not None,
            60,
            "compose watch to start watching",
        )
        assert watch.poll() is None, log.read_text(encoding="utf-8")
        deploy_version(assets, "v3", new_asset="nuevo_en_v3")
        wait_until(lambda: "nuevo_en_v3" in asset_names(stack), 120, "the watched change")
    finally:
        watch.send_signal(signal.SIGINT)
        try:
            watch.wait(timeout=30)
        except subprocess.TimeoutExpired:
            watch.kill()
        log.unlink(missing_ok=True)
    assert starts(stack) == before
    assert stack.wait_for_run(stack.launch(assets=["version_desplegada"]))["status"] == "SUCCESS"
    assert version_output(stack) == "v3"
