"""History retention in a real stack: a year of runs (copies of real ones, bench/generate_history)
purged by plataforma's purge_history down to 90 days, with the asset catalog exactly as it
was (each asset's latest materialization, every partition's status, the checks' results),
nothing left half-deleted, and the database smaller; a purge killed midway leaves a consistent
database that the next one finishes.
"""

import json

import pytest

from bench.generate_history import generate, psql
from tests.e2e.compose_stack import Stack, docker, tags_of, wait_until

pytestmark = pytest.mark.usefixtures("docker_ready")

CATALOG = """
query Catalog {
  assetNodes {
    assetKey { path }
    assetMaterializations(limit: 1) { runId timestamp partition }
    assetPartitionStatuses {
      __typename
      ... on TimePartitionStatuses { ranges { status startKey endKey } }
      ... on DefaultPartitionStatuses { materializedPartitions failedPartitions }
    }
    assetChecksOrError {
      ... on AssetChecks { checks { name executionForLatestMaterialization { runId status } } }
    }
  }
}"""
OLD = "update_timestamp < (now() AT TIME ZONE 'UTC') - interval '90 days'"
# Rows of a run's that would outlive it if a purge stopped between two statements.
ORPHANS = """SELECT (SELECT count(*) FROM event_logs e WHERE e.run_id <> '' AND NOT EXISTS
  (SELECT 1 FROM runs r WHERE r.run_id = e.run_id))
  + (SELECT count(*) FROM run_tags t WHERE NOT EXISTS
  (SELECT 1 FROM runs r WHERE r.run_id = t.run_id));"""


@pytest.fixture(scope="module")
def year(platform) -> tuple[Stack, dict]:
    """The platform stack with real runs of the sample, two partitions of the daily history,
    and a year of copies of them: a run every 15 minutes, a partition a day."""
    s = platform.stack
    first = s.wait_for_run(s.launch("procesar_ventas"))["runId"]
    daily = [
        s.wait_for_run(s.launch("historico_diario", tags={"dagster/partition": day}))
        for day in ("2024-03-15", "2024-03-16")
    ]
    assert all(run["status"] == "SUCCESS" for run in daily)
    seconds = generate(
        s.project, first, runs=366 * 8, days=366, partitioned=daily[0]["runId"], env=s.env
    )
    print(f"a year of {366 * 8} + 366 runs written in {seconds:.0f} s")
    s.wait_for_run(s.launch("procesar_ventas"))  # the latest run is a real one
    return s, {"first": first}


def count(stack: Stack, where: str, table: str = "runs") -> int:
    return int(psql(stack.project, f"SELECT count(*) FROM {table} WHERE {where};", stack.env))


def purge(stack: Stack, **config) -> str:
    """Launch purge_history keeping 90 days, the default (the platform stack sets 0, so that
    no daily schedule purges while tests count runs)."""
    run_config = {"ops": {"purgar_historial": {"config": {"days": 90, **config}}}}
    return stack.launch("purge_history", run_config=run_config, location="plataforma")


def catalog(stack: Stack) -> dict:
    """What the catalog shows, with partition status computed afresh from the events: Dagster
    caches it, and a cache hides deleted events until it is rebuilt (after an upgrade, or a
    change to the partitions)."""
    psql(stack.project, "UPDATE asset_keys SET cached_status_data = NULL;", stack.env)
    nodes = stack.graphql(CATALOG)["assetNodes"]
    return {"/".join(node["assetKey"]["path"]): node for node in nodes}


def purge_metadata(stack: Stack, run_id: str) -> dict:
    query = """query Log($runId: ID!) { logsForRun(runId: $runId) { ... on EventConnection {
        events { ... on ExecutionStepOutputEvent {
          metadataEntries { label ... on IntMetadataEntry { intValue }
                                  ... on TextMetadataEntry { text } } } } } } }"""
    events = stack.graphql(query, {"runId": run_id})["logsForRun"]["events"]
    entries = [e for event in events for e in event.get("metadataEntries", [])]
    return {e["label"]: e.get("intValue", e.get("text")) for e in entries}


def test_a_purge_keeps_90_days_and_the_catalog_as_it_was(year):
    stack, _ = year
    before = catalog(stack)
    old, recent = count(stack, OLD), count(stack, f"NOT ({OLD})")
    assert old > 2000

    run = stack.wait_for_run(purge(stack), timeout=600)
    assert run["status"] == "SUCCESS", stack.run_log(run["runId"])
    purged = purge_metadata(stack, run["runId"])
    print(f"purge: {purged}")

    assert catalog(stack) == before
    # The old runs left are those the catalog reads: a partition's latest, one per day.
    assert count(stack, OLD) == purged["old runs kept for the catalog"] <= 366
    assert count(stack, f"NOT ({OLD})") == recent + 1  # the purge's own run
    assert purged["runs deleted"] == old - count(stack, OLD)
    assert int(psql(stack.project, ORPHANS, stack.env)) == 0
    assert purged["database size after"] < purged["database size before"]


def test_a_purge_killed_midway_leaves_a_whole_database_and_the_next_finishes(year):
    stack, runs = year
    generate(stack.project, runs["first"], runs=3000, days=366, env=stack.env)
    old = count(stack, OLD)
    run_id = purge(stack, batch=20)
    wait_until(lambda: count(stack, OLD) < old - 100, 120, "the purge to delete some runs")
    container = tags_of(stack.run(run_id))["docker/container_id"]
    docker("kill", container)
    state = json.loads(docker("inspect", "--format", "{{json .State}}", container).stdout)
    left = count(stack, OLD)
    # Killed while old runs were left beyond the partitions' (at most one a day): midway.
    assert 366 < left < old, f"the purge was not midway: {left} of {old} old runs left"
    assert stack.wait_for_run(run_id, timeout=120)["status"] == "FAILURE"
    assert int(psql(stack.project, ORPHANS, stack.env)) == 0
    print(f"purge killed at {state['FinishedAt']} with {left} of {old} old runs left")

    again = stack.wait_for_run(purge(stack), timeout=600)
    assert again["status"] == "SUCCESS", stack.run_log(again["runId"])
    assert count(stack, OLD) <= 366
    assert int(psql(stack.project, ORPHANS, stack.env)) == 0
