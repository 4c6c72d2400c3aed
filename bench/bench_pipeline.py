"""Time procesar_ventas against its peers on the same generated sales files.

    .venv/bin/python -m bench.bench_pipeline                      # 1M and 10M rows, best of 2
    .venv/bin/python -m bench.bench_pipeline --rows 1000000 --repeat 3 --no-stack
    .venv/bin/python -m bench.bench_pipeline --rows 10000000 --no-peers --no-stack --profile

On each file (the generator's realistic mix, made once and kept in --cache):

- the peers (bench/peers/): the same work in one short script each with pyarrow, polars,
  DuckDB, and the tutorial's pandas code (which does less), each a fresh process;
- procesar_ventas standalone: a fresh process running `execute_in_process` (in-process
  executor, throwaway instance);
- procesar_ventas through a stack of its own: launch -> SUCCESS, and the run container's peak
  memory as `docker stats` counts it (page cache excluded).

Wall times include process start-up; peak RSS comes from `os.wait4`. Every contender runs
--repeat times, one at a time, the repeats taken in turns; the best is reported with the
median. Then each figure is divided by the DuckDB script's and by the fastest peer's, beside
the targets of the performance work. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from bench import generate_ventas
from bench.peers import PEERS
from tests.e2e.compose_stack import REPO, running_stack

JOB = "procesar_ventas"
TUTORIAL = "pandas (tutorial)"
STANDALONE = f"{JOB} standalone"
STACK = f"{JOB} in a stack"
RESULTS = REPO / "bench" / "results"
# The targets of the performance work, as ratios of wall time.
TARGETS = [
    (STACK, "duckdb", 1.3),
    (STANDALONE, "duckdb", 1.2),
    (STACK, "fastest peer", 1.5),
    (STANDALONE, "fastest peer", 1.5),
]
MEMORY_TARGET_MB = 1000


@dataclass
class Figure:
    """One contender on one file: wall time (s) and peak memory (MB) of each repeat."""

    walls: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.walls)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def peak(self) -> float:
        return max(self.peaks, default=0.0)


def sales_file(rows: int, cache: Path) -> Path:
    """A generated sales CSV of `rows` rows, made once and kept in `cache` (named after the
    generator's code, so a changed generator makes new files)."""
    version = hashlib.sha256(Path(generate_ventas.__file__).read_bytes()).hexdigest()[:8]
    path = cache / f"ventas_{rows}_{version}.csv"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"generating {rows:,} rows ...", flush=True)
        tmp = path.with_suffix(".tmp")
        start = time.perf_counter()
        with tmp.open("wb") as out:
            generate_ventas.generate(rows, out)
        tmp.rename(path)
        print(f"  {time.perf_counter() - start:.1f} s", flush=True)
    return path


def timed_process(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run `argv` to its end: wall time from the start of the process (s) and its peak RSS
    (MB). What it prints goes to a file, shown if it fails."""
    with tempfile.TemporaryFile("w+") as log:
        start = time.perf_counter()
        child = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            log.seek(0)
            raise RuntimeError(f"{argv[:3]} failed ({child.returncode}):\n{log.read()[-5000:]}")
    return wall, usage.ru_maxrss / 1024


def peer(script: Path, csv: Path) -> tuple[float, float]:
    out = Path(tempfile.mkdtemp(prefix="ventas-bench-peer-"))
    try:
        return timed_process([sys.executable, str(script), str(csv), str(out)])
    finally:
        shutil.rmtree(out, ignore_errors=True)


def data_dir_with(csv: Path) -> Path:
    data = Path(tempfile.mkdtemp(prefix="ventas-bench-data-"))
    try:
        os.link(csv, data / "ventas.csv")  # no copy of a 600 MB file where a link will do
    except OSError:
        shutil.copy(csv, data / "ventas.csv")
    shutil.copy(REPO / "data" / "usuarios.csv", data / "usuarios.csv")
    (data / "output").mkdir()
    for path in (data, data / "output"):
        path.chmod(0o777)
    return data


# execute_in_process on its default instance, in memory: a test's SQLite instance would add
# seconds of set-up that no run pays in a deployment.
CHILD = f"""
from ventas.definitions import defs
result = defs().resolve_job_def({JOB!r}).execute_in_process()
assert result.success
"""

# The same run under pyinstrument, which starts before anything is imported, so the
# profile shows the imports too. Arguments: where to write the text and HTML profiles.
PROFILED_CHILD = f"""
import sys
from pathlib import Path
from pyinstrument import Profiler
profiler = Profiler(interval=0.005)
profiler.start()
{CHILD}
profiler.stop()
Path(sys.argv[1]).write_text(profiler.output_text(unicode=True), encoding="utf-8")
profiler.write_html(sys.argv[2])
"""


def standalone(csv: Path, profile: tuple[Path, Path] | None = None) -> tuple[float, float]:
    """procesar_ventas in a fresh process on `csv`: wall time and peak RSS; under the
    profiler if `profile` names the text and HTML files to write."""
    data = data_dir_with(csv)
    env = {**os.environ, "VENTAS_DATA_DIR": str(data)}
    argv = [sys.executable, "-c", CHILD]
    if profile:
        argv = [sys.executable, "-c", PROFILED_CHILD, *map(str, profile)]
    try:
        return timed_process(argv, env)
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


def through_stack(csvs: dict[int, Path], repeat: int) -> dict[int, Figure]:
    """procesar_ventas launched through a stack of its own on each file, `repeat` times."""
    figures: dict[int, Figure] = {}
    print("building and starting a stack ...", flush=True)
    with running_stack("ventas-bench") as stack:
        for rows, csv in csvs.items():
            shutil.copy(csv, stack.data_dir / "ventas.csv")
            figure = figures[rows] = Figure()
            for _ in range(repeat):
                start = time.time()
                run_id = stack.launch(JOB)
                with PeakMemory(run_id) as memory:
                    # Polled gently: the run's end time, not the poll, ends the measure.
                    run = stack.wait_for_run(run_id, timeout=600, interval=1.0)
                if run["status"] != "SUCCESS":
                    raise RuntimeError(f"run {run_id} ended {run['status']}")
                # The containers share the host's clock.
                wall = run["endTime"] - start
                figure.walls.append(wall)
                if memory.peak:
                    figure.peaks.append(memory.peak / 1e6)
                peak = f"{memory.peak / 1e6:,.0f} MB" if memory.peak else "not readable here"
                print(
                    f"  {rows:,} rows: launch -> SUCCESS {wall:.1f} s, run container peak {peak}",
                    flush=True,
                )
    return figures


def in_turns(
    contenders: dict[str, Callable[[], tuple[float, float]]], repeat: int, label: str
) -> dict[str, Figure]:
    """Each contender `repeat` times, one at a time, taking turns: a slow spell of a shared
    machine falls on all of them rather than on one."""
    figures = {name: Figure() for name in contenders}
    for attempt in range(1, repeat + 1):
        for name, run in contenders.items():
            wall, peak = run()
            figures[name].walls.append(wall)
            figures[name].peaks.append(peak)
            print(
                f"  {label}, {name} #{attempt}: {wall:.1f} s, peak RSS {peak:,.0f} MB",
                flush=True,
            )
    return figures


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def report(rows: int, csv: Path, figures: dict[str, Figure], repeat: int) -> None:
    full_peers = {n: f for n, f in figures.items() if n in PEERS and n != TUTORIAL}
    fastest = min(full_peers, key=lambda n: full_peers[n].best) if full_peers else None
    baselines = {
        "duckdb": figures["duckdb"].best if "duckdb" in figures else None,
        "fastest peer": full_peers[fastest].best if fastest else None,
    }
    print(
        f"\n{rows:,} rows ({csv.stat().st_size / 1e6:,.0f} MB): best of {repeat} (median) wall "
        f"time, highest peak memory; ratios of the best times; fastest peer: {fastest or '-'}"
    )
    print(f"  {'':30} {'wall s':>14} {'peak MB':>10} {'× DuckDB':>9} {'× fastest':>10}")
    for name, figure in figures.items():
        ratios = [f"{figure.best / base:.2f}" if base else "" for base in baselines.values()]
        label = name + (" *" if name == TUTORIAL else "") + (" †" if name == STACK else "")
        peak = f"{figure.peak:,.0f}" if figure.peak else "?"
        print(
            f"  {label:30} {figure.best:6.1f} ({figure.median:5.1f}) {peak:>10} "
            f"{ratios[0]:>9} {ratios[1]:>10}"
        )
    notes = []
    if TUTORIAL in figures:
        notes.append(
            "  * does less: no typed raw table, one summary of three; not counted as a peer "
            "for 'fastest'"
        )
    if STACK in figures:
        notes.append("  † launch -> SUCCESS; peak memory of the run container, page cache out")
    print("\n".join(notes))
    targets = []
    for name, base, limit in TARGETS:
        baseline = baselines[base]
        if name in figures and baseline:
            ratio = figures[name].best / baseline
            targets.append(f"{name} / {base}: {ratio:.2f}× (target ≤ {limit}×)")
    if targets:
        print("  targets: " + "; ".join(targets))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs of each contender per file (best is shown)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "ventas-bench",
        help="where generated CSVs are kept between runs",
    )
    parser.add_argument("--no-peers", action="store_true", help="skip the peer scripts")
    parser.add_argument(
        "--no-standalone", action="store_true", help="skip procesar_ventas standalone"
    )
    parser.add_argument("--no-stack", action="store_true", help="skip the run through a stack")
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"also profile one standalone run per file (pyinstrument), into {RESULTS}",
    )
    args = parser.parse_args()

    csvs = {rows: sales_file(rows, args.cache) for rows in args.rows}
    print(f"machine: {load()}", flush=True)
    figures: dict[int, dict[str, Figure]] = {}
    for rows, csv in csvs.items():
        contenders: dict[str, Callable[[], tuple[float, float]]] = {}
        if not args.no_peers:
            contenders |= {name: partial(peer, script, csv) for name, script in PEERS.items()}
        if not args.no_standalone:
            contenders[STANDALONE] = partial(standalone, csv)
        figures[rows] = in_turns(contenders, args.repeat, f"{rows:,} rows")
    if not args.no_stack:
        for rows, figure in through_stack(csvs, args.repeat).items():
            figures[rows][STACK] = figure
    print(f"machine: {load()}")

    for rows, csv in csvs.items():
        if figures[rows]:
            report(rows, csv, figures[rows], args.repeat)
    stack_peaks = {rows: f[STACK].peak for rows, f in figures.items() if STACK in f}
    if len(stack_peaks) > 1 and all(stack_peaks.values()):
        smallest, largest = min(stack_peaks), max(stack_peaks)
        print(
            "\nrun container peak: "
            + ", ".join(f"{rows:,} rows {peak:,.0f} MB" for rows, peak in stack_peaks.items())
            + f"; {largest:,} / {smallest:,} rows: "
            f"{stack_peaks[largest] / stack_peaks[smallest]:.2f}× "
            f"(target ≤ {MEMORY_TARGET_MB:,} MB, and flat)"
        )

    if args.profile:
        RESULTS.mkdir(parents=True, exist_ok=True)
        for rows, csv in csvs.items():
            text, html = (RESULTS / f"profile_standalone_{rows}.{ext}" for ext in ("txt", "html"))
            print(f"\nprofiling {JOB} standalone on {rows:,} rows ...", flush=True)
            wall, _ = standalone(csv, profile=(text, html))
            lines = text.read_text(encoding="utf-8").splitlines()
            print(f"  {wall:.1f} s under the profiler; {text} and {html}; the top:")
            print("\n".join(lines[:90]))


if __name__ == "__main__":
    main()
