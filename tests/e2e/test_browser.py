"""The UI as a person sees it: Debian's Chromium, driven by Playwright in a container on the
stack's network (tests/e2e/browser/page.py), opens a page, waits until the texts a test names are
visible, and reports the page's DOM text and which of those texts can be read without
expanding or scrolling anything. Each page's screenshot is kept for people to look at."""

import json
import secrets
import subprocess
from pathlib import Path

import pytest

from tests.e2e.compose_stack import docker
from tests.e2e.test_code_location import CHECKS, VENTAS, run_on_a_bad_sales_file

pytestmark = pytest.mark.browser

STEP_FAILURES = """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
    ... on ExecutionStepFailureEvent { stepKey error { message } } } } } }"""


def open_page(
    stack,
    image: str,
    path: str,
    texts: list[str],
    png: Path,
    gone: tuple[str, ...] = (),
    clicks: tuple[str, ...] = (),
    record: str | None = None,
) -> dict:
    """Open `path` of the stack's UI from inside its network, click the buttons named in
    `clicks` in turn; return page.py's report once every one of `texts` is visible and none
    of `gone` is in the page (or after 60 s). With `record`, the page's GraphQL requests are
    written to that file beside `png`."""
    png.parent.chmod(0o777)  # the browser container writes the screenshot as its own user
    name = f"{stack.project}-browser-{secrets.token_hex(3)}"
    options = [arg for text in gone for arg in ("--gone", text)]
    options += [arg for label in clicks for arg in ("--click", label)]
    options += ["--record", record] if record else []
    try:
        result = subprocess.run(
            [
                "docker",
                "run",
                "--rm",
                "--name",
                name,
                "--network",
                f"{stack.project}_dagster",
                "--volume",
                f"{png.parent}:/out",
                image,
                *options,
                "--screenshot",
                png.name,
                "--",
                f"http://webserver:3000{path}",
                *texts,
            ],
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:  # `--rm` removes it, unless the docker client was killed on the timeout
        docker("rm", "--force", name, check=False)
    print(f"screenshot: {png}")
    assert result.returncode == 0, f"page.py failed ({result.returncode}):\n{result.stderr[-3000:]}"
    return json.loads(result.stdout)


def seen(page: dict) -> str:
    return (
        f"timed out: {page['timed_out']}, visible: {page['visible']}\n"
        f"--- the page's text ---\n{page['text']}"
    )


def asset_nodes(text: str) -> dict[str, list[str]]:
    """The lines of each asset's node in the asset graph's text: a node is its name, then
    "Latest event" and the rest of its rows, up to the next node."""
    lines = text.splitlines()
    starts = [i for i in range(len(lines) - 1) if lines[i + 1] == "Latest event"]
    return {
        lines[start]: lines[start:end]
        for start, end in zip(starts, [*starts[1:], None], strict=True)
    }


def test_the_asset_graph_shows_the_ventas_assets_materialized(browser_image, stack, tmp_path):
    run = stack.wait_for_run(stack.launch(assets=VENTAS, checks=CHECKS))
    assert run["status"] == "SUCCESS", stack.run_log(run["runId"])

    # Each node says "Loading..." until its latest materialization and checks have arrived.
    page = open_page(
        stack,
        browser_image,
        "/locations/ventas/asset-groups/ventas/lineage",
        [*VENTAS, "Materialized", "4 / 4 Passed"],
        tmp_path / "ventas-lineage.png",
        gone=("Loading...",),
    )
    assert all(page["visible"].values()), seen(page)
    nodes = asset_nodes(page["text"])
    for name in VENTAS:
        assert "Materialized" in nodes.get(name, []), f"{name}: {seen(page)}"
    checks = nodes["ventas_raw"]
    assert checks[checks.index("Asset checks") + 1] == "4 / 4 Passed", seen(page)


def test_a_failed_run_shows_what_is_wrong_on_its_run_page(browser_image, stack, tmp_path):
    run = run_on_a_bad_sales_file(stack)
    assert run["status"] == "FAILURE", stack.run_log(run["runId"])
    events = stack.graphql(STEP_FAILURES, {"id": run["runId"]})["logsForRun"]["events"]
    (failure,) = [e for e in events if e]  # the other events come back empty
    assert failure["stepKey"] == "ventas_raw"
    # The first line says what is wrong, where: the file, the line and the column.
    first_line = failure["error"]["message"].splitlines()[0]
    where = "InputFileError: /opt/dagster/data/ventas.csv, line 3, column 'precio':"
    assert first_line.startswith(where), failure

    # A person reads at least that much on the run's page, without expanding anything.
    page = open_page(
        stack, browser_image, f"/runs/{run['runId']}", [where], tmp_path / "failed-run.png"
    )
    assert page["visible"][where], f"first line of the step's error: {first_line!r}\n{seen(page)}"
    assert "'trescientos' is not a number" in page["text"], seen(page)
