"""Upgrading Dagster keeps the history: a database written by an earlier release is migrated
by the `migrate` step, and the current stack shows its runs and carries on."""

from importlib.metadata import version
from pathlib import Path

import pytest

from tests.e2e.compose_stack import docker, running_stack_on

pytestmark = pytest.mark.usefixtures("docker_ready")

UPGRADE_DIR = Path(__file__).parent / "upgrade"
ASSET_QUERY = """{ assetOrError(assetKey: {path: ["legado"]}) {
    ... on Asset { assetMaterializations { runId } } } }"""


def sql(stack, query: str) -> str:
    """What psql prints for `query` in the stack's database."""
    return stack.compose(
        "exec", "-T", "postgres", "sh", "-c",
        f'psql -tA -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "{query}"',
    ).stdout.strip()  # fmt: skip


def schema_revision(stack) -> str:
    return sql(stack, "select version_num from alembic_version")


# 1.12 is the previous minor release, with the same schema as 1.13; 1.11 lacks two of 1.13's
# schema revisions, which the migration must apply.
@pytest.mark.parametrize("release, migrates", [("1.12", False), ("1.11", True)])
def test_a_database_written_by_an_earlier_release_is_migrated_and_its_history_kept(
    release, migrates
):
    image = f"ventas-test-dagster-{release}"
    docker(
        "build", "--quiet", "--build-arg", f"RELEASE={release}", "--tag", image, str(UPGRADE_DIR)
    )

    def write_old_history(stack) -> str:
        env = [
            f"--env=DAGSTER_POSTGRES_{k}={v}"
            for k, v in (
                ("HOST", "postgres"),
                ("USER", "dagster"),
                ("PASSWORD", "dagster"),
                ("DB", "dagster"),
            )
        ]
        docker(
            "run",
            "--rm",
            f"--network={stack.project}_dagster",
            *env,
            image,
            "dagster",
            "asset",
            "materialize",
            "-f",
            "defs.py",
            "--select",
            "legado",
        )
        # What the migrate step of a stack before the stack package left: its mark, under the
        # table's former name.
        sql(
            stack,
            "create table ventas_migrate (fingerprint text, dagster text, migrated_at timestamptz);"
            f" insert into ventas_migrate values ('an older image', '{release}', now())",
        )
        return schema_revision(stack)

    with running_stack_on(
        f"ventas-e2e-upgrade-{release.replace('.', '')}", before_up=write_old_history
    ) as (stack, old_revision):
        assert (
            "the instance's schema is up to date"
            in stack.compose("logs", "--no-color", "migrate").stdout
        )
        new_revision = schema_revision(stack)
        print(
            f"schema revision written by {release}: {old_revision}; after migrate: {new_revision}"
        )
        assert (new_revision != old_revision) == migrates
        # The mark is now the stack's own table's, and the former one gone.
        assert sql(stack, "select dagster from stack_migrate") == version("dagster")
        assert sql(stack, "select to_regclass('ventas_migrate') is null") == "t"

        (materialization,) = stack.graphql(ASSET_QUERY)["assetOrError"]["assetMaterializations"]
        assert stack.run(materialization["runId"])["status"] == "SUCCESS"
        assert stack.wait_for_run(stack.launch("procesar_ventas"))["status"] == "SUCCESS"
