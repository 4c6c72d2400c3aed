"""Two code locations, each in its own container built from its own image: lineage across
them, runs in each location's own image, a redeploy of one leaving the other alone, and a
broken one that hides nothing of the other.

The stack runs from a copy of the project, whose informes location the tests edit."""

import json

import pandas as pd
import pytest

from tests.e2e.compose_stack import (
    SAMPLE_DATA,
    add_deploy_assets,
    project_copy,
    running_stack,
    tags_of,
    wait_until,
)
from tests.sales import tutorial_results

pytestmark = pytest.mark.usefixtures("docker_ready")

REPORT_QUERY = """{ assetNodes(assetKeys: [{path: ["resumen_semanal"]}]) {
    repository { location { name } } dependencyKeys { path } } }"""
OTHERS = ("postgres", "user_code", "webserver", "daemon")


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    source = project_copy(tmp_path_factory.mktemp("locations"))
    add_deploy_assets(source)  # espera_lenta: a ventas run that lasts until the test ends it
    with running_stack("ventas-e2e-locations", project_dir=source) as stack:
        yield stack, source / "informes/src/informes/defs/semanal/assets.py"


def starts(stack, services=OTHERS) -> dict[str, str]:
    return {s: c["State"]["StartedAt"] for s, c in stack.containers().items() if s in services}


def location_state(stack, name: str) -> str:
    """RepositoryLocation, or PythonError with the load error's message."""
    entry = stack.location(name)["locationOrLoadError"]
    return entry["__typename"] if entry["__typename"] != "PythonError" else json.dumps(entry)


def assets_of(stack, name: str) -> set[str]:
    entry = stack.location(name)["locationOrLoadError"]
    if entry["__typename"] != "RepositoryLocation":
        return set()
    return {"/".join(n["assetKey"]["path"]) for n in entry["repositories"][0]["assetNodes"]}


def test_both_locations_load_and_the_report_depends_on_ventas_across_them(two):
    stack, _ = two
    assert (
        location_state(stack, "ventas")
        == location_state(stack, "informes")
        == ("RepositoryLocation")
    )
    (report,) = stack.graphql(REPORT_QUERY)["assetNodes"]
    assert report["repository"]["location"]["name"] == "informes"
    assert report["dependencyKeys"] == [{"path": ["ventas_por_dia"]}]
    assert "ventas_por_dia" in assets_of(stack, "ventas")


def test_the_report_reads_what_ventas_wrote_each_run_in_its_locations_image(two):
    stack, _ = two
    ventas = stack.wait_for_run(stack.launch("procesar_ventas"))
    report = stack.wait_for_run(stack.launch("informe_semanal", location="informes"))
    assert (ventas["status"], report["status"]) == ("SUCCESS", "SUCCESS"), stack.run_log(
        report["runId"]
    )
    assert tags_of(ventas)["dagster/image"] == f"{stack.project}-user_code"
    assert tags_of(report)["dagster/image"] == f"{stack.project}-informes"

    written = pd.read_parquet(stack.data_dir / "output" / "informes" / "resumen_semanal.parquet")
    daily = tutorial_results(SAMPLE_DATA / "ventas.csv")["ventas_por_dia"]
    daily["semana"] = daily["fecha"].dt.to_period("W-SUN").dt.start_time
    weekly = daily.groupby("semana").agg(ventas=("ventas", "sum"), total=("total", "sum"))
    assert pd.to_datetime(written["semana"]).tolist() == weekly.index.tolist()
    assert written["ventas"].tolist() == weekly["ventas"].tolist()
    assert written["total"].tolist() == pytest.approx(weekly["total"].tolist())


def test_a_redeploy_of_one_location_restarts_only_it_while_a_run_of_the_other_goes_on(two):
    stack, report = two
    before = starts(stack)
    informes_before = starts(stack, ("informes",))
    good = report.read_text(encoding="utf-8")
    report.write_text(
        good
        + '''

@dg.asset(group_name="informes")
def recien_llegado() -> None:
    """An asset of the redeployed version."""
''',
        encoding="utf-8",
    )
    try:
        run_id = stack.launch(assets=["espera_lenta"])
        wait_until(lambda: stack.run(run_id)["status"] == "STARTED", 60, "the ventas run")
        stack.compose("up", "--detach", "--build", "informes")
        wait_until(
            lambda: "recien_llegado" in assets_of(stack, "informes"),
            120,
            "the redeployed location's new asset",
        )
        # The ventas run waits for the test: it went on while the other location restarted.
        assert stack.run(run_id)["status"] == "STARTED"
        (stack.data_dir / "seguir").touch()
        assert stack.wait_for_run(run_id, timeout=120)["status"] == "SUCCESS"
        assert starts(stack) == before  # ventas' code server, and everything else, untouched
        assert starts(stack, ("informes",)) != informes_before
    finally:
        report.write_text(good, encoding="utf-8")
        (stack.data_dir / "seguir").unlink(missing_ok=True)


def test_a_broken_location_shows_its_error_and_the_other_loads_and_runs(two):
    stack, report = two
    good = report.read_text(encoding="utf-8")
    report.write_text(
        good + '\nraise RuntimeError("a deliberate mistake in informes")\n', encoding="utf-8"
    )
    try:
        stack.compose("up", "--detach", "--build", "informes")
        error = wait_until(
            lambda: "deliberate mistake" in (s := location_state(stack, "informes")) and s,
            120,
            "informes' load error",
        )
        assert "a deliberate mistake in informes" in error
        assert location_state(stack, "ventas") == "RepositoryLocation"
        assert stack.wait_for_run(stack.launch("procesar_ventas"))["status"] == "SUCCESS"
    finally:
        report.write_text(good, encoding="utf-8")
    stack.compose("up", "--detach", "--build", "informes")
    wait_until(
        lambda: location_state(stack, "informes") == "RepositoryLocation",
        120,
        "informes to load again",
    )
    assert location_state(stack, "ventas") == "RepositoryLocation"
