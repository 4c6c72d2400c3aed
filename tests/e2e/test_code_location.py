"""The ventas code location in the stack: the whole graph with its checks, one partition, the
op job and a bad sales file, driven through the webserver's GraphQL API."""

import pandas as pd
import pytest

from tests.e2e.compose_stack import BACKFILL_GOING, SAMPLE_DATA, as_root, wait_until
from tests.sales import BAD_SALES, tutorial_results

VENTAS = [
    "ventas_raw",
    "ventas_procesadas",
    "ventas_por_categoria",
    "ventas_por_producto",
    "ventas_por_dia",
]
ALL_UNPARTITIONED = [*VENTAS, "usuarios", "ventas_completas"]
CHECKS = {
    "ventas_raw": [
        "columnas_requeridas",
        "precio_no_negativo",
        "cantidad_entera_positiva",
        "proporcion_de_nulos",
    ]
}

ASSET_QUERY = """
query Asset($key: AssetKeyInput!) {
  assetNodes(assetKeys: [$key]) {
    assetMaterializations(limit: 1) {
      runId
      metadataEntries { label ... on IntMetadataEntry { intValue } }
    }
    partitionStats { numMaterialized }
    assetChecksOrError {
      ... on AssetChecks {
        checks {
          name
          blocking
          executionForLatestMaterialization { status runId evaluation { severity } }
        }
      }
    }
  }
}"""


FAILURES_QUERY = """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
    __typename
    ... on ExecutionStepFailureEvent { error { message } }
    ... on RunFailureEvent { error { message } } } } } }"""


def failures(stack, run_id: str) -> tuple[dict, dict]:
    """The errors of a run's (one) failed step and of its failure, as the UI shows them."""
    events = stack.graphql(FAILURES_QUERY, {"id": run_id})["logsForRun"]["events"]
    (step,) = [e["error"] for e in events if e["__typename"] == "ExecutionStepFailureEvent"]
    (run,) = [e["error"] for e in events if e["__typename"] == "RunFailureEvent"]
    return step, run


def asset(stack, name: str) -> dict:
    (node,) = stack.graphql(ASSET_QUERY, {"key": {"path": [name]}})["assetNodes"]
    return node


@pytest.fixture(scope="module")
def everything(stack) -> str:
    """One run of the whole unpartitioned graph and its checks, as "Materialize all" does."""
    run = stack.wait_for_run(stack.launch(assets=ALL_UNPARTITIONED, checks=CHECKS))
    assert run["status"] == "SUCCESS", stack.run_log(run["runId"])
    return run["runId"]


DEFINITIONS_QUERY = """{ repositoryOrError(repositorySelector: {
    repositoryLocationName: "ventas", repositoryName: "__repository__"}) {
  ... on Repository {
    assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name } } } }
    jobs { name } schedules { name } sensors { name } } } }"""


def test_the_ui_lists_every_asset_check_job_schedule_and_sensor(stack):
    repository = stack.graphql(DEFINITIONS_QUERY)["repositoryOrError"]
    assets = {"/".join(node["assetKey"]["path"]) for node in repository["assetNodes"]}
    checks = {
        c["name"]
        for node in repository["assetNodes"]
        for c in node["assetChecksOrError"].get("checks", [])
    }
    assert assets == {*ALL_UNPARTITIONED, "ventas_diarias", "ventas_entrantes"}
    assert checks == set(CHECKS["ventas_raw"])
    assert {j["name"] for j in repository["jobs"] if not j["name"].startswith("__")} == {
        "procesar_ventas",
        "unir_clientes",
        "historico_diario",
        "ingerir_ventas",
        "informe_ventas",
    }
    assert {s["name"] for s in repository["schedules"]} == {
        "procesar_ventas_diario",
        "procesar_ventas_cada_hora",
        "historico_diario_schedule",
    }
    assert {s["name"] for s in repository["sensors"]} == {
        "ventas_entrantes_sensor",
        "archivar_ventas_entrantes",
    }


def test_materializing_everything_writes_and_records_every_asset(stack, everything):
    for name in ALL_UNPARTITIONED:
        stored = pd.read_parquet(stack.data_dir / "output" / f"{name}.parquet")
        (latest,) = asset(stack, name)["assetMaterializations"]
        assert latest["runId"] == everything, name
        rows = {e["label"]: e.get("intValue") for e in latest["metadataEntries"]}
        assert rows["dagster/row_count"] == len(stored) > 0, name


def test_asset_check_results_are_visible_through_the_api(stack, everything):
    checks = {c["name"]: c for c in asset(stack, "ventas_raw")["assetChecksOrError"]["checks"]}
    assert set(checks) == set(CHECKS["ventas_raw"])
    for name, check in checks.items():
        execution = check["executionForLatestMaterialization"]
        assert (execution["status"], execution["runId"]) == ("SUCCEEDED", everything), name
    assert (
        checks["proporcion_de_nulos"]["executionForLatestMaterialization"]["evaluation"]["severity"]
        == "WARN"
    )
    assert not checks["proporcion_de_nulos"]["blocking"]
    assert all(
        checks[n]["blocking"]
        for n in ("columnas_requeridas", "precio_no_negativo", "cantidad_entera_positiva")
    )


def test_one_daily_partition_materializes_in_its_own_file(stack, everything):
    run = stack.wait_for_run(
        stack.launch("historico_diario", tags={"dagster/partition": "2024-03-15"})
    )
    assert run["status"] == "SUCCESS", stack.run_log(run["runId"])

    day = pd.read_parquet(stack.data_dir / "output" / "ventas_diarias" / "2024-03-15.parquet")
    clean = tutorial_results(SAMPLE_DATA / "ventas.csv")["ventas_procesadas"]
    assert len(day) == (clean["fecha"] == "2024-03-15").sum() > 0
    assert asset(stack, "ventas_diarias")["partitionStats"]["numMaterialized"] >= 1


DAYS_QUERY = """query($days: [String!]) {
  assetOrError(assetKey: {path: ["ventas_diarias"]}) {
    ... on Asset {
      assetMaterializations(partitions: $days) { partition runId }
      definition { assetPartitionStatuses {
        ... on TimePartitionStatuses { ranges { status startKey endKey } } } }
    }
  }
}"""


def test_a_weeks_backfill_is_one_run_that_materializes_every_day(stack, everything):
    """As the UI's backfill launches it: one run for the whole range, a file a day, and each
    day a materialization of its own in the asset's partitions (Dagster writes them in one
    batch: DAGSTER_EVENT_BATCH_SIZE in the code location's image)."""
    days = [f"2024-02-{day:02}" for day in range(5, 12)]
    backfill_id = stack.backfill("ventas_diarias", days)
    wait_until(
        lambda: stack.backfill_status(backfill_id) not in BACKFILL_GOING, 180, "the backfill"
    )
    assert stack.backfill_status(backfill_id) == "COMPLETED_SUCCESS"
    (run,) = stack.runs(tags={"dagster/backfill": backfill_id})
    assert run["status"] == "SUCCESS", stack.run_log(run["runId"])

    clean = tutorial_results(SAMPLE_DATA / "ventas.csv")["ventas_procesadas"]
    for day in days:
        written = pd.read_parquet(stack.data_dir / "output" / "ventas_diarias" / f"{day}.parquet")
        assert len(written) == (clean["fecha"] == day).sum(), day
    asset = stack.graphql(DAYS_QUERY, {"days": days})["assetOrError"]
    assert sorted((m["partition"], m["runId"]) for m in asset["assetMaterializations"]) == [
        (day, run["runId"]) for day in days
    ]
    ranges = asset["definition"]["assetPartitionStatuses"]["ranges"]
    assert any(
        r["status"] == "MATERIALIZED" and r["startKey"] <= days[0] and days[-1] <= r["endKey"]
        for r in ranges
    ), ranges


def test_the_op_job_runs_and_logs_its_summary(stack):
    run = stack.wait_for_run(stack.launch("informe_ventas"))
    assert run["status"] == "SUCCESS"
    log = stack.run_log(run["runId"])
    assert "Sales per category:" in log and "Electrónica" in log


def run_on_a_bad_sales_file(stack) -> dict:
    """procesar_ventas, finished, on a sales file whose line 3 has a price in words; the
    sample is back in place afterwards."""
    sales = stack.data_dir / "ventas.csv"
    try:
        sales.write_text(BAD_SALES, encoding="utf-8")
        return stack.wait_for_run(stack.launch("procesar_ventas"))
    finally:
        sales.write_bytes((SAMPLE_DATA / "ventas.csv").read_bytes())


def test_a_bad_sales_file_fails_the_run_clearly_and_keeps_the_last_output(stack, everything):
    raw_output = stack.data_dir / "output" / "ventas_raw.parquet"
    good = raw_output.read_bytes()
    run = run_on_a_bad_sales_file(stack)
    assert run["status"] == "FAILURE"
    step_failure, run_failure = failures(stack, run["runId"])
    for error in (step_failure, run_failure):
        first_line = error["message"].splitlines()[0]
        assert first_line.startswith("InputFileError: /opt/dagster/data/ventas.csv"), error
        assert "column 'precio'" in first_line and "line 3: 'trescientos'" in first_line
    assert raw_output.read_bytes() == good


def test_a_folder_the_run_cannot_write_is_named_with_its_owner_and_the_fix(stack, everything):
    """A folder under output/ left by another user (an earlier setup, a manual copy)."""
    days = stack.data_dir / "output" / "ventas_diarias"
    days.mkdir(exist_ok=True)
    owner = days.stat()
    as_root(stack.data_dir, "chown", "1234:1234", "/data/output/ventas_diarias")
    try:
        run = stack.wait_for_run(
            stack.launch("historico_diario", tags={"dagster/partition": "2024-03-16"})
        )
        assert run["status"] == "FAILURE"
        first_line = failures(stack, run["runId"])[0]["message"].splitlines()[0]
        assert first_line.startswith(
            "PermissionError: cannot write /opt/dagster/data/output/ventas_diarias/"
        ), first_line
        assert "belongs to uid 1234" in first_line and "chown -R" in first_line
    finally:
        as_root(
            stack.data_dir, "chown", f"{owner.st_uid}:{owner.st_gid}", "/data/output/ventas_diarias"
        )
