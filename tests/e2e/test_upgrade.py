"""Upgrading Dagster keeps the history: a database written by an earlier release is migrated
by the `migrate` step, and the current stack shows its runs and carries on; scripts/upgrade
moves a stack of the previous minor release to this one, and rolls back by itself when the new
release does not work."""

import os
import re
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

from bench.generate_history import psql
from tests.e2e.compose_stack import (
    Stack,
    docker,
    new_project_name,
    project_copy,
    running_stack_on,
)
from tests.sales import BAD_SALES
from tests.scripts import upgrade_script

pytestmark = pytest.mark.usefixtures("docker_ready")

UPGRADE_DIR = Path(__file__).parent / "upgrade"
ASSET_QUERY = """{ assetOrError(assetKey: {path: ["legado"]}) {
    ... on Asset { assetMaterializations { runId } } } }"""


def sql(stack, query: str) -> str:
    """What psql prints for `query` in the stack's database."""
    return psql(stack.project, query, stack.env).strip()


def schema_revision(stack) -> str:
    return sql(stack, "select version_num from alembic_version")


# 1.11 lacks two of 1.13's schema revisions, which the migration must apply. (A stack of the
# previous minor release, whose schema is 1.13's, is upgraded below, by scripts/upgrade.)
@pytest.mark.parametrize("release, migrates", [("1.11", True)])
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


# Code that works on one release only: as a location whose code is not ready for the new one.
NOT_READY = """import dagster

assert dagster.__version__.startswith("{release}."), "this code needs Dagster {release}"
"""


def previous_minor(upgrade, current: str) -> str:
    """The newest release of the minor release before `current`'s."""
    major, minor, _ = (int(part) for part in current.split("."))
    releases = [
        tuple(int(p) for p in r.split("."))
        for r in upgrade.released("dagster")
        if upgrade.RELEASE.fullmatch(r)
    ]
    return ".".join(map(str, max(r for r in releases if r[:2] == (major, minor - 1))))


def test_scripts_upgrade_moves_a_stack_of_the_previous_minor_and_rolls_back_by_itself(tmp_path):
    copy = project_copy(tmp_path)
    upgrade = upgrade_script(copy)
    pins = upgrade.pins((copy / "pyproject.toml").read_text())
    current, previous = pins["dagster"], previous_minor(upgrade, pins["dagster"])
    # The checkout as it was on the previous minor release: its pins and its lock.
    upgrade.relock(
        copy, upgrade.repin(upgrade.read("pyproject.toml"), upgrade.family_for(pins, previous))
    )
    stack = Stack(project=new_project_name("ventas-e2e-upgrade-script"), project_dir=copy)

    # The stack's settings, and this machine's way to the package index (its certificates,
    # proxies, index), which uv needs to lock.
    network = {
        k: v
        for k, v in os.environ.items()
        if k.startswith(("SSL_", "UV_", "PIP_")) or k.lower().endswith("_proxy")
    }

    def script(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(copy / "scripts" / "upgrade"), *args],
            env=network | stack.env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        print(result.stdout, result.stderr)
        return result

    def releases() -> dict[str, str]:
        """The Dagster release each service runs."""
        probe = "from importlib.metadata import version; print(version('dagster'))"
        return {
            service: stack.compose("exec", "-T", service, "python", "-c", probe).stdout.strip()
            for service in ("webserver", "daemon", "user_code", "plataforma")
        }

    def history() -> set[str]:
        return {run["runId"] for run in stack.runs()}

    try:
        stack.prepare_data()
        stack.build()
        stack.up()
        stack.wait_for_location()
        assert set(releases().values()) == {previous}
        assert stack.wait_for_run(stack.launch("procesar_ventas"))["status"] == "SUCCESS"
        before = history()
        locks = {name: (copy / name).read_text() for name in ("pyproject.toml", "uv.lock")}

        # --check says what would move, and moves nothing.
        checked = script("--check", current)
        assert checked.returncode == 0
        assert f"dagster: {previous} -> {current}" in checked.stdout
        # A release that does not exist: nothing changes, and the first line says why.
        absent = script("1.99.0")
        assert absent.returncode == 2
        assert absent.stdout.startswith(
            f"upgrade: Dagster 1.99.0 is not on {upgrade.INDEX} as a whole family: "
            "no dagster==1.99.0"
        )
        assert {n: (copy / n).read_text() for n in locks} == locks
        assert set(releases().values()) == {previous}

        # A location whose code is not ready for the new release: the check fails after the
        # migration, and the upgrade rolls back by itself, the database included (restored
        # from the backup: its tables are new ones, with the same runs).
        not_ready = copy / "user_code" / "src" / "ventas" / "defs" / "no_preparado.py"
        not_ready.write_text(NOT_READY.format(release=previous.rsplit(".", 1)[0]))
        runs_table = sql(stack, "select 'runs'::regclass::oid")
        failed = script(current)
        assert failed.returncode == 1
        assert (
            "upgrade: the check step failed: `docker compose exec -T webserver stack-check` "
            "exited 1: stack-check: code location ventas does not load: AssertionError: this "
            f"code needs Dagster {previous.rsplit('.', 1)[0]}"
        ) in failed.stdout
        backup = re.search(r"failed at the check step; the backup is in (\S+)", failed.stdout)
        assert backup and (Path(backup[1]) / "dagster.dump").stat().st_size > 0
        assert f"rolled back: the database is restored from {backup[1]}/dagster.dump" in (
            failed.stdout
        )
        assert set(releases().values()) == {previous}
        assert sql(stack, "select 'runs'::regclass::oid") != runs_table
        assert history() == before
        assert {n: (copy / n).read_text() for n in locks} == locks
        stack.wait_for_location()

        # The code made ready: the upgrade, to the newest complete release, goes through.
        not_ready.unlink()
        done = script()
        assert done.returncode == 0, done.stdout
        assert f"upgrade: done: the stack runs Dagster {current}" in done.stdout
        assert "stack-check: the sample run of stack_check succeeded" in done.stdout
        assert set(releases().values()) == {current}
        assert upgrade.pins((copy / "pyproject.toml").read_text())["dagster"] == current
        after = history()
        assert before < after
        (materialization,) = stack.graphql(
            """{ assetOrError(assetKey: {path: ["ventas_por_categoria"]}) {
                ... on Asset { assetMaterializations { runId } } } }"""
        )["assetOrError"]["assetMaterializations"]
        assert materialization["runId"] in before

        # stack-check, at any time, with a pipeline of one's own as a sample: a failed run
        # is told by the first line of its error.
        (stack.data_dir / "ventas.csv").write_text(BAD_SALES)
        sample = stack.compose(
            "exec", "-T", "webserver", "stack-check", "--job", "procesar_ventas", check=False
        )
        assert sample.returncode == 1
        assert re.fullmatch(
            r"stack-check: the sample run \S+ of procesar_ventas ended FAILURE: InputFileError: "
            r"/opt/dagster/data/ventas.csv, line 3, column 'precio': 'trescientos' is not a "
            r"number written like 12\.50\. [^\n]*\n",
            sample.stderr,
        ), sample.stderr
    except BaseException:
        print(f"--- logs of {stack.project} ---\n{stack.logs()}")
        raise
    finally:
        stack.destroy()
