"""Time the ventas job on an N-row sales file, standalone and through a running stack.

    .venv/bin/python -m bench.bench_pipeline --rows 1000000 10000000
    .venv/bin/python -m bench.bench_pipeline --rows 10000000 --standalone-only

Standalone: `procesar_ventas` in a fresh Python process (in-process executor,
throwaway instance), reporting wall time and the process's peak RSS.
Stack: the same job launched through GraphQL on a stack of its own, reporting
launch -> SUCCESS and the run container's peak memory as `docker stats` counts it
(page cache excluded). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import generate_ventas
from tests.e2e.compose_stack import REPO, running_stack

JOB = "procesar_ventas"


def sales_file(rows: int, cache: Path) -> Path:
    """A generated sales CSV of `rows` rows, made once and kept in `cache`."""
    path = cache / f"ventas_{rows}.csv"
    if not path.exists():
        print(f"generating {rows:,} rows ...", flush=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as out:
            generate_ventas.generate(rows, out)
        tmp.rename(path)
    return path


def data_dir_with(csv: Path) -> Path:
    data = Path(tempfile.mkdtemp(prefix="ventas-bench-data-"))
    try:
        os.link(csv, data / "ventas.csv")  # no copy of a 500 MB file where a link will do
    except OSError:
        shutil.copy(csv, data / "ventas.csv")
    shutil.copy(REPO / "data" / "usuarios.csv", data / "usuarios.csv")
    (data / "output").mkdir()
    for path in (data, data / "output"):
        path.chmod(0o777)
    return data


CHILD = f"""
import dagster as dg
from ventas.definitions import defs
with dg.instance_for_test() as instance:
    result = defs().resolve_job_def({JOB!r}).execute_in_process(instance=instance)
assert result.success
"""


def standalone(csv: Path) -> None:
    data = data_dir_with(csv)
    env = {
        **os.environ,
        "VENTAS_DATA_DIR": str(data),
    }
    try:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", CHILD], env=env)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError("the standalone run failed")
        peak = usage.ru_maxrss / 1024
        print(
            f"  standalone: {wall:.1f} s, peak RSS {peak:,.0f} MB "
            "(Python start-up and imports included)"
        )
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _cgroup_memory(container_id: str) -> int | None:
    """Memory in use without page cache, as `docker stats` shows it (cgroup v2 or v1)."""
    for usage_file, stat_file, cache_key in (
        (
            f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/memory.current",
            f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/memory.stat",
            "inactive_file",
        ),
        (
            f"/sys/fs/cgroup/memory/docker/{container_id}/memory.usage_in_bytes",
            f"/sys/fs/cgroup/memory/docker/{container_id}/memory.stat",
            "total_inactive_file",
        ),
    ):
        try:
            usage = int(Path(usage_file).read_text())
            stats = dict(line.split() for line in Path(stat_file).read_text().splitlines())
            return usage - int(stats.get(cache_key, 0))
        except (OSError, ValueError):
            continue
    return None


class PeakMemory:
    """Samples one run's container until stopped and keeps the highest reading. It looks the
    container up once, then only reads cgroup files: sampling must not steal the CPU it measures."""

    def __init__(self, run_id: str):
        self.run_id, self.peak, self._stop = run_id, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        container = ""
        while not container and not self._stop.wait(0.2):
            container = subprocess.run(
                [
                    "docker",
                    "ps",
                    "-q",
                    "--no-trunc",
                    "--filter",
                    f"label=dagster/run_id={self.run_id}",
                ],
                capture_output=True,
                text=True,
            ).stdout.strip()
        while not self._stop.wait(0.05):
            value = _cgroup_memory(container)
            if value:
                self.peak = max(self.peak, value)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def through_stack(csvs: list[Path], repeat: int) -> None:
    with running_stack("ventas-bench") as stack:
        for csv in csvs:
            shutil.copy(csv, stack.data_dir / "ventas.csv")
            for _ in range(repeat):
                start = time.perf_counter()
                run_id = stack.launch(JOB)
                with PeakMemory(run_id) as memory:
                    # Poll about as often as the UI does.
                    run = stack.wait_for_run(run_id, timeout=600, interval=1.0)
                    wall = time.perf_counter() - start
                assert run["status"] == "SUCCESS", run
                peak = f"{memory.peak / 1e6:,.0f} MB" if memory.peak else "not readable here"
                print(
                    f"  {csv.name}: launch -> SUCCESS {wall:.1f} s, "
                    f"run container peak memory {peak}",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where generated CSVs are kept between runs",
    )
    parser.add_argument("--standalone-only", action="store_true")
    parser.add_argument("--repeat", type=int, default=2, help="runs per file through the stack")
    args = parser.parse_args()

    csvs = [sales_file(rows, args.cache) for rows in args.rows]
    for rows, csv in zip(args.rows, csvs, strict=True):
        print(f"{rows:,} rows ({csv.stat().st_size / 1e6:,.0f} MB):")
        standalone(csv)
    if not args.standalone_only:
        print("through a stack:")
        through_stack(csvs, args.repeat)


if __name__ == "__main__":
    main()
