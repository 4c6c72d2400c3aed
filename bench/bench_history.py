"""The UI with a year of history: the GraphQL queries the UI sends for the pages people open,
replayed on an empty history, a full year, and the year purged to 30 days.

    .venv/bin/python -m bench.bench_history [--runs 105408] [--days 366] [--repeat 20]

The queries are recorded from the UI itself: Chromium (tests/e2e/browser/) opens each page and
writes down every GraphQL request the page makes until it shows what it is for. Each page's
requests are then replayed one after another, `--repeat` times, on each history; a page's time
is the sum of its requests'. The year (bench/generate_history.py) is a five-minute schedule's
runs and a daily partitioned job's, copies of real runs of the stack. Prints figures and
ratios; asserts nothing. Creates its own stack and removes it afterwards.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import requests

from bench.generate_history import generate, psql
from tests.e2e.compose_stack import Stack, running_stack
from tests.e2e.conftest import BROWSER_DIR, BROWSER_IMAGE, build_test_image
from tests.e2e.test_browser import open_page

# Each page, with a text that shows once it has loaded.
PAGES = {
    "runs list": ("/runs", "procesar_ventas"),
    "a run": ("/runs/{run_id}", "ventas_por_categoria"),
    "asset catalog": ("/assets", "ventas_raw"),
    "asset partitions": ("/assets/ventas_diarias?view=partitions", "2024-03-15"),
    "automation": ("/automation", "procesar_ventas_diario"),
}


def record(stack: Stack, image: str, run_id: str, folder: Path) -> dict[str, list[dict]]:
    """The GraphQL requests of each page, as the UI sends them."""
    recorded = {}
    for name, (path, text) in PAGES.items():
        file = f"{name.replace(' ', '-')}.json"
        open_page(
            stack, image, path.format(run_id=run_id), [text], folder / "page.png", record=file
        )
        recorded[name] = json.loads((folder / file).read_text())
    return recorded


def page_seconds(stack: Stack, requests_of_page: list[dict], session: requests.Session) -> float:
    started = time.perf_counter()
    for body in requests_of_page:
        answer = session.post(f"{stack.url}/graphql", json=body, timeout=120)
        answer.raise_for_status()
    return time.perf_counter() - started


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def measure(stack: Stack, recorded: dict[str, list[dict]], repeat: int) -> dict[str, float]:
    session = requests.Session()
    for page in recorded.values():  # once unmeasured: caches warm as a user's would be
        page_seconds(stack, page, session)
    return {
        name: p95([page_seconds(stack, page, session) for _ in range(repeat)])
        for name, page in recorded.items()
    }


def database_size(stack: Stack) -> int:
    return int(psql(stack.project, "SELECT pg_database_size(current_database());", stack.env))


def runs_count(stack: Stack) -> int:
    return int(psql(stack.project, "SELECT count(*) FROM runs;", stack.env))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=366 * 288, help="the five-minute job's")
    parser.add_argument("--days", type=int, default=366)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep-days", type=int, default=30, help="what the purge keeps")
    args = parser.parse_args()
    image = build_test_image(BROWSER_IMAGE, BROWSER_DIR)
    folder = Path(tempfile.mkdtemp(prefix="ventas-bench-history-"))
    with running_stack("ventas-bench-history", extra_env={"VENTAS_AUTOMATION_ON": "false"}) as s:
        first = s.wait_for_run(s.launch("procesar_ventas"))["runId"]
        daily = s.wait_for_run(
            s.launch("historico_diario", tags={"dagster/partition": "2024-03-15"})
        )
        recorded = record(s, image, first, folder)
        counts = {name: len(page) for name, page in recorded.items()}
        print(f"requests per page: {counts}")
        if not all(counts.values()):
            raise SystemExit("a page made no GraphQL request: nothing to measure")
        sizes, p95s = {}, {}
        sizes["empty"], p95s["empty"] = database_size(s), measure(s, recorded, args.repeat)

        seconds = generate(s.project, first, args.runs, args.days, daily["runId"], env=s.env)
        print(f"a year written: {runs_count(s)} runs in {seconds:.0f} s")
        sizes["full"], p95s["full"] = database_size(s), measure(s, recorded, args.repeat)

        launched = time.monotonic()
        config = {"ops": {"purgar_historial": {"config": {"days": args.keep_days}}}}
        run = s.launch("purge_history", run_config=config, location="plataforma")
        purge = s.wait_for_run(run, timeout=3600)
        print(
            f"purge to {args.keep_days} days: {purge['status']} in "
            f"{time.monotonic() - launched:.0f} s (launch to end); {runs_count(s)} runs left"
        )
        sizes["purged"], p95s["purged"] = database_size(s), measure(s, recorded, args.repeat)

    print(
        f"\n{'page':<18}"
        + "".join(f"{h:>12}" for h in ("empty", "full", "purged"))
        + "  full/empty"
    )
    for name in PAGES:
        row = [p95s[h][name] * 1000 for h in ("empty", "full", "purged")]
        ratio = p95s["full"][name] / p95s["empty"][name]
        print(f"{name:<18}" + "".join(f"{ms:>10.0f}ms" for ms in row) + f"  {ratio:9.2f}x")
    print("database: " + ", ".join(f"{h} {size / 1e6:.0f} MB" for h, size in sizes.items()))


if __name__ == "__main__":
    main()
