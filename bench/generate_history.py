"""A year of history, written into a stack's Postgres in minutes: copies of real runs.

A five-minute schedule and a daily partitioned job for a year are about 105,000 runs with
their events. Writing them through Dagster would take hours; here each is a copy of a real run
of the stack (its row, its tags, its events), made by Postgres itself (INSERT ... SELECT), under
a new run ID and moved in time: the copies of a partitioned run get the partition of their
day. What the UI and the purge read (run bodies, event JSON, tags, indexes) is as a real run
writes it; only the times inside the JSON are the template's.

    python -m bench.generate_history PROJECT TEMPLATE_RUN_ID [--runs 105120] [--days 366]
        [--partitioned TEMPLATE_RUN_ID]

PROJECT is the compose project whose `postgres` service holds the instance; the template runs
must have ended there. Used by tests/e2e/test_history.py at small scale and by
bench/bench_history.py at full scale.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The tables a run's rows live in, and what each copy changes in them.
TABLES = ("runs", "run_tags", "event_logs")
# Copies written per transaction.
BATCH = 5000


def psql(project: str, sql: str, env: dict[str, str] | None = None) -> str:
    """Run `sql` in the project's Postgres; its output, tuples only."""
    result = subprocess.run(
        [
            "docker",
            "compose",
            "--project-name",
            project,
            "exec",
            "-T",
            "postgres",
            "sh",
            "-c",
            'psql -v ON_ERROR_STOP=1 -X -q -t -A -U "$POSTGRES_USER" -d "$POSTGRES_DB"',
        ],
        input=sql,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=3600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr.strip()[:2000]}")
    return result.stdout


def columns(project: str, table: str, env: dict[str, str] | None = None) -> list[str]:
    out = psql(
        project,
        "SELECT column_name FROM information_schema.columns "
        f"WHERE table_name = '{table}' ORDER BY ordinal_position;",
        env,
    )
    return [c for c in out.split() if c != "id"]


def copy_sql(table: str, names: list[str], first: int, last: int) -> str:
    """INSERT ... SELECT of every row of the template runs into their copies `first` to
    `last` (of the `copies` temporary table: n, template, run_id, shift, partition)."""

    def value(name: str) -> str:
        if name == "run_id":
            return "c.run_id"
        if name in ("run_body", "event", "value"):
            text = f"replace(t.{name}, c.template, c.run_id)"
            return (
                f"CASE WHEN c.template_partition IS NULL THEN {text} ELSE replace({text}, "
                "c.template_partition, c.partition) END"
            )
        if name == "partition":
            return f"CASE WHEN t.{name} IS NULL THEN NULL ELSE c.partition END"
        if name in ("create_timestamp", "update_timestamp", "timestamp"):
            return f"t.{name} + c.shift"
        if name in ("start_time", "end_time"):
            return f"t.{name} + extract(epoch FROM c.shift)"
        return f"t.{name}"

    quoted = ", ".join(f'"{n}"' for n in names)
    values = ", ".join(value(n) for n in names)
    return (
        f"INSERT INTO {table} ({quoted}) SELECT {values} FROM copies c "
        f"JOIN {table} t ON t.run_id = c.template WHERE c.n BETWEEN {first} AND {last} "
        "ORDER BY c.n, t.id;"
    )


def generate(
    project: str,
    template: str,
    runs: int,
    days: int = 366,
    partitioned: str | None = None,
    env: dict[str, str] | None = None,
) -> float:
    """Write `runs` copies of `template`, evenly over the last `days` days, and one copy of
    `partitioned` per day with that day's partition. Returns the seconds it took."""
    started = time.monotonic()
    plan = f"""
CREATE TEMP TABLE copies AS
SELECT g AS n, '{template}'::text AS template, NULL::text AS template_partition,
       NULL::text AS partition,
       (now() AT TIME ZONE 'UTC') - interval '{days} days' * (1 - g::float / {runs})
         - (SELECT create_timestamp FROM runs WHERE run_id = '{template}') AS shift
FROM generate_series(1, {runs}) g;
"""
    if partitioned:
        plan += f"""
INSERT INTO copies
SELECT {runs} + g, '{partitioned}', r.partition,
       to_char((now() AT TIME ZONE 'UTC')::date - g, 'YYYY-MM-DD'),
       ((now() AT TIME ZONE 'UTC')::date - g)::timestamp + interval '15 minutes'
         - r.create_timestamp
FROM generate_series(1, {days}) g, runs r WHERE r.run_id = '{partitioned}';
"""
    plan += """
ALTER TABLE copies ADD COLUMN run_id text;
UPDATE copies SET run_id = gen_random_uuid()::text;
"""
    names = {table: columns(project, table, env) for table in TABLES}
    # A transaction per batch of copies: a year in one would keep its whole WAL (tens of GB)
    # until the end.
    total = runs + (days if partitioned else 0)
    for first in range(1, total + 1, BATCH):
        last = min(first + BATCH - 1, total)
        plan += "BEGIN;\n"
        plan += "\n".join(copy_sql(table, names[table], first, last) for table in TABLES)
        plan += "\nCOMMIT;\n"
    psql(project, f"{plan}VACUUM ANALYZE;\n", env)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project")
    parser.add_argument("template")
    parser.add_argument("--runs", type=int, default=366 * 288)
    parser.add_argument("--days", type=int, default=366)
    parser.add_argument("--partitioned")
    args = parser.parse_args()
    seconds = generate(args.project, args.template, args.runs, args.days, args.partitioned)
    print(f"{args.runs} runs over {args.days} days written in {seconds:.0f} s")


if __name__ == "__main__":
    main()
