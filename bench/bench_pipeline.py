"""Time procesar_ventas, and a year's backfill, against peers doing the same work under the
same limits.

    .venv/bin/python -m bench.bench_pipeline          # all of it: 10M and 100M rows, the sample
                                                      # against its floor, the backfill, best of 2
    .venv/bin/python -m bench.bench_pipeline --rows 1000000 --no-host --backfill-rows 0
    .venv/bin/python -m bench.bench_pipeline --rows 10000000 --no-peers --no-stack --profile

In a stack of its own (docker compose, the run containers' limits DAGSTER_RUN_CPUS and
DAGSTER_RUN_MEMORY), on each file (the generator's realistic mix, made once and kept in
--cache), taking turns:

- the peers (bench/peers/): the same work in one short script each with pyarrow, polars and
  DuckDB, each in a container of the code-location image with the run containers' limits;
- procesar_ventas launched: launch -> SUCCESS, and the run container's peak resident memory
  (anonymous memory from its cgroup: page cache left out).

Then the fixed cost: the sample (data/ventas.csv) launched, against its floor, a container of
the same image, same limits, starting and importing Dagster and pyarrow. And a year's
backfill: ventas_diarias over 2024's 366 partitions launched as the UI's backfill, launch ->
every partition materialized (the concurrency limit held, no run container left), against
DuckDB writing the same per-day files (bench/peers/backfill_duckdb.py) under the limits.

Beside them, on the host: the peers (the tutorial's pandas code too, which does less) and
procesar_ventas standalone (`execute_in_process`), each a fresh process, peak RSS from
`os.wait4`. Every contender runs --repeat times, the repeats taken in turns; the best is
reported with the median, and divided by the DuckDB script's under the limits, beside the
targets. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
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
from datetime import date, timedelta
from functools import partial
from importlib.metadata import version
from pathlib import Path

from bench import generate_ventas
from bench.peers import PEERS
from stack import standby
from tests.e2e.compose_stack import BACKFILL_GOING, REPO, Stack, most_at_once, running_stack

JOB = "procesar_ventas"
TUTORIAL = "pandas (tutorial)"
STANDALONE = f"{JOB} standalone"
STACK = f"{JOB} in a stack"
HOST = "on the host"
FLOOR = "floor: a container importing dagster, pyarrow"
SAMPLE = f"{JOB} on the sample, in a stack"
DAILY = "ventas_diarias"
BACKFILL_PEER = PEERS["duckdb"].parent / "backfill_duckdb.py"
RESULTS = REPO / "bench" / "results"
# The targets, as ratios of wall time: procesar_ventas in a stack against the DuckDB script
# under the same limits, by rows (other sizes are shown without one).
TARGETS = {10_000_000: 1.2, 100_000_000: 1.1}
SAMPLE_TARGET = 1.5  # the sample against the floor
BACKFILL_TARGET = 2.0  # the backfill against DuckDB's PARTITION_BY
MEMORY_TARGET_MB = 1000  # the run container's peak at 100M rows
GROWTH_TARGET = 1.2  # the peak at 100M rows against the peak at 10M

# Where a run's time goes: created, started, its steps, ended.
PHASES = """query($id: ID!) { runOrError(runId: $id) { ... on Run { creationTime startTime endTime
    stepStats { stepKey startTime endTime } } } }"""


def phases(stack: Stack, run_id: str, launched: float) -> str:
    """The run's phases from `launched` (a time.time()): waiting to be created (the backfill
    daemon), to start (queue, container, worker), its steps, and its end (events)."""
    run = stack.graphql(PHASES, {"id": run_id})["runOrError"]
    steps = run["stepStats"]
    first = min(s["startTime"] for s in steps)
    last = max(s["endTime"] for s in steps)
    marks = [
        ("created", run["creationTime"] - launched),
        ("started", run["startTime"] - run["creationTime"]),
        ("first step", first - run["startTime"]),
        ("steps", last - first),
        ("ended", run["endTime"] - last),
    ]
    longest = sorted(steps, key=lambda s: s["endTime"] - s["startTime"], reverse=True)[:4]
    each = ", ".join(f"{s['stepKey']} {s['endTime'] - s['startTime']:.1f}" for s in longest)
    return ", ".join(f"{name} +{seconds:.1f} s" for name, seconds in marks) + f" ({each})"


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
    """Resident memory of a container: its anonymous memory, page cache left out (cgroup v2's
    `anon`, v1's `total_rss`). docker stats' figure (usage less inactive file pages) also
    counts the active page cache, which a run reading a 6 GB file fills."""
    for stat_file, key in (
        (f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/memory.stat", "anon"),
        (f"/sys/fs/cgroup/memory/docker/{container_id}/memory.stat", "total_rss"),
    ):
        try:
            stats = dict(line.split() for line in Path(stat_file).read_text().splitlines())
            return int(stats[key])
        except (OSError, ValueError, KeyError):
            continue
    return None


class PeakMemory:
    """Samples one container (the first `docker ps --filter` of `selectors` that finds one,
    e.g. label=dagster/run_id=...) until stopped and keeps the highest reading. It looks the
    container up once, then only reads cgroup files: sampling must not steal the CPU it
    measures."""

    def __init__(self, *selectors: str):
        self.selectors, self.peak, self._stop = selectors, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        container = ""
        while not container and not self._stop.wait(0.2):
            for selector in self.selectors:
                container = (
                    container
                    or subprocess.run(
                        ["docker", "ps", "-q", "--no-trunc", "--filter", selector],
                        capture_output=True,
                        text=True,
                    ).stdout.strip()
                )
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


def launch_to_success(stack: Stack, job: str = JOB, show: bool = False) -> tuple[float, float]:
    """`job` launched in the stack: seconds from launch to its end (the run's own end time:
    the containers share the host's clock) and its container's peak memory in MB; with
    `show`, where the time went."""
    start = time.time()
    run_id = stack.launch(job)
    # A new container has the run's label; one started ahead of the run, its name.
    with PeakMemory(f"label=dagster/run_id={run_id}", f"name={standby.TAKEN}{run_id}") as memory:
        # Polled gently: the run's end time, not the poll, ends the measure.
        run = stack.wait_for_run(run_id, timeout=3600, interval=1.0)
    if run["status"] != "SUCCESS":
        raise RuntimeError(f"run {run_id} ended {run['status']}")
    if show:
        print(f"  {job}: {phases(stack, run_id, start)}", flush=True)
    return run["endTime"] - start, memory.peak / 1e6


class Limited:
    """Commands in containers of the stack's code-location image with the run containers'
    limits (DAGSTER_RUN_CPUS, DAGSTER_RUN_MEMORY): what a peer must live with to compare."""

    def __init__(self, stack: Stack):
        # As the stack's daemon has them (the launcher's settings), defaults included.
        config = json.loads(stack.compose("config", "--format", "json").stdout)
        settings = config["services"]["daemon"]["environment"]
        self.cpus, self.memory = settings["DAGSTER_RUN_CPUS"], settings["DAGSTER_RUN_MEMORY"]
        self.concurrency = int(settings["DAGSTER_MAX_CONCURRENT_RUNS"])
        base = f"{stack.project}-user_code"
        # polars is no dependency of the location: added to a copy of its image, for its peer.
        self.image = f"{stack.project}-peers"
        versions = {p: version(p) for p in ("polars", "polars-runtime-32")}
        dockerfile = (
            f"FROM {base}\n"
            "RUN /usr/local/bin/python -m pip install --quiet --no-cache-dir --no-deps "
            "--target /opt/peers " + " ".join(f"{p}=={v}" for p, v in versions.items()) + "\n"
            "ENV PYTHONPATH=/opt/dagster/app/src:/opt/peers\n"
        )
        subprocess.run(
            ["docker", "build", "--quiet", "--tag", self.image, "-"],
            input=dockerfile, text=True, check=True, capture_output=True,
        )  # fmt: skip

    def run(self, *argv: str, mounts: dict[Path, str]) -> tuple[float, float]:
        """Seconds from `docker run` to the container's end, and its peak memory in MB."""
        name = f"ventas-bench-{os.getpid()}-{time.monotonic_ns()}"
        volumes = [f"--volume={host}:{inside}" for host, inside in mounts.items()]
        command = [
            "docker", "run", "--rm", f"--name={name}", f"--cpus={self.cpus}",
            f"--memory={self.memory}", f"--memory-swap={self.memory}", *volumes,
            "--entrypoint=python", self.image, *argv,
        ]  # fmt: skip
        with PeakMemory(f"name={name}") as memory:
            wall, _ = timed_process(command)
        return wall, memory.peak / 1e6

    def peer(self, script: Path, csv: Path) -> tuple[float, float]:
        out = Path(tempfile.mkdtemp(prefix="ventas-bench-peer-"))
        out.chmod(0o777)
        try:
            return self.run(
                f"/peers/{script.name}",
                f"/in/{csv.name}",
                "/out",
                mounts={script.parent: "/peers:ro", csv.parent: "/in:ro", out: "/out"},
            )
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def floor(self) -> tuple[float, float]:
        """The least a run container does: start, and import Dagster and pyarrow."""
        return self.run("-c", "import dagster, pyarrow", mounts={})


def in_stack(csvs: dict[int, Path], repeat: int, args: argparse.Namespace) -> dict[str, dict]:
    """In a stack of its own: on each file, the peers in containers under the run limits and
    procesar_ventas launched, taking turns; the sample against the floor; the backfill."""
    results: dict[str, dict] = {"files": {}, "fixed": {}, "backfill": {}}
    print("building and starting a stack ...", flush=True)
    with running_stack("ventas-bench") as stack:
        limited = Limited(stack)
        print(f"run limits: {limited.cpus} CPUs, {limited.memory}", flush=True)
        for rows, csv in csvs.items():
            shutil.copy(csv, stack.data_dir / "ventas.csv")
            contenders: dict[str, Callable[[], tuple[float, float]]] = {}
            if not args.no_peers:
                contenders |= {
                    name: partial(limited.peer, script, csv)
                    for name, script in PEERS.items()
                    if name != TUTORIAL and name in args.peers
                }
            contenders[STACK] = partial(launch_to_success, stack, show=True)
            results["files"][rows] = in_turns(contenders, repeat, f"{rows:,} rows, limited")
        if not args.no_fixed:
            shutil.copy(REPO / "data" / "ventas.csv", stack.data_dir / "ventas.csv")
            results["fixed"] = in_turns(
                {FLOOR: limited.floor, SAMPLE: partial(launch_to_success, stack, show=True)},
                max(repeat, 3),
                "the sample",
            )
        if args.backfill_rows:
            csv = csvs.get(args.backfill_rows) or sales_file(args.backfill_rows, args.cache)
            results["backfill"] = backfill(stack, limited, csv, repeat)
    return results


def backfill(stack: Stack, limited: Limited, csv: Path, repeat: int) -> dict[str, Figure]:
    """ventas_diarias over 2024's 366 days from the UI's backfill (launch -> every partition
    materialized), against DuckDB writing the same per-day files; on `csv`'s sales."""
    shutil.copy(csv, stack.data_dir / "ventas.csv")
    launch_to_success(stack)  # ventas_procesadas, which the backfill reads
    clean = stack.data_dir / "output" / "ventas_procesadas.parquet"
    days = [f"{day:%Y-%m-%d}" for day in (date(2024, 1, 1) + timedelta(n) for n in range(366))]
    limit = limited.concurrency

    def through_ui() -> tuple[float, float]:
        start = time.time()
        backfill_id = stack.backfill(DAILY, days)
        while (status := stack.backfill_status(backfill_id)) in BACKFILL_GOING:
            time.sleep(1)
        runs = stack.runs(tags={"dagster/backfill": backfill_id})
        if status not in ("COMPLETED", "COMPLETED_SUCCESS"):
            raise RuntimeError(f"backfill {backfill_id} ended {status}")
        end = max(run["endTime"] for run in runs)
        files = list((stack.data_dir / "output" / DAILY).glob("2024-*.parquet"))
        # The daemon removes an ended run's container within a second or two.
        deadline = time.monotonic() + 30
        while (left := stack.run_containers()) and time.monotonic() < deadline:
            time.sleep(0.5)
        print(
            f"  backfill: {len(runs)} runs, at most {most_at_once(runs)} at once (limit "
            f"{limit}), {len(files)} files of 2024, run containers left: {len(left)}; the last "
            f"run: {phases(stack, runs[0]['runId'], start)}",
            flush=True,
        )
        if most_at_once(runs) > limit or left or len(files) != len(days):
            raise RuntimeError("the backfill broke its limit, left containers, or missed days")
        return end - start, 0.0

    def duckdb_peer() -> tuple[float, float]:
        return limited.peer(BACKFILL_PEER, clean)

    return in_turns(
        {"duckdb (PARTITION_BY)": duckdb_peer, f"{DAILY} backfill": through_ui},
        repeat,
        "backfill",
    )


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
                f"  {label}, {name} #{attempt}: {wall:.1f} s, peak "
                + (f"{peak:,.0f} MB" if peak else "not measured"),
                flush=True,
            )
    return figures


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def report(rows: int, csv: Path, figures: dict[str, Figure], repeat: int) -> None:
    """One file's table: the peers under the run limits first (the baselines), procesar_ventas
    in the stack, then the peers and the job on the host."""
    limited = {n: f for n, f in figures.items() if n in PEERS and n != TUTORIAL}
    fastest = min(limited, key=lambda n: limited[n].best) if limited else None
    baselines = {
        "duckdb": figures["duckdb"].best if "duckdb" in figures else None,
        "fastest peer": limited[fastest].best if fastest else None,
    }
    print(
        f"\n{rows:,} rows ({csv.stat().st_size / 1e6:,.0f} MB): best of {repeat} (median) wall "
        f"time, highest peak memory; ratios of the best times to the peers under the run "
        f"limits; fastest of them: {fastest or '-'}"
    )
    print(f"  {'':34} {'wall s':>14} {'peak MB':>10} {'× DuckDB':>9} {'× fastest':>10}")
    for name, figure in figures.items():
        ratios = [f"{figure.best / base:.2f}" if base else "" for base in baselines.values()]
        peak = f"{figure.peak:,.0f}" if figure.peak else "?"
        print(
            f"  {name:34} {figure.best:6.1f} ({figure.median:5.1f}) {peak:>10} "
            f"{ratios[0]:>9} {ratios[1]:>10}"
        )
    print(
        "  the peers and the stack's run: containers of the code-location image under the run "
        f"limits, peak resident memory (anonymous, page cache left out); {HOST}: processes, "
        "peak RSS"
    )
    if STACK in figures and baselines["duckdb"]:
        ratio = figures[STACK].best / baselines["duckdb"]
        target = f" (target ≤ {TARGETS[rows]}×)" if rows in TARGETS else ""
        print(f"  target: {STACK} / duckdb under the same limits: {ratio:.2f}×{target}")


def ratio_line(figures: dict[str, Figure], name: str, base: str, target: float) -> str:
    ratio = figures[name].best / figures[base].best
    return (
        f"{name}: {figures[name].best:.1f} s ({figures[name].median:.1f}); {base}: "
        f"{figures[base].best:.1f} s ({figures[base].median:.1f}); {ratio:.2f}× "
        f"(target ≤ {target}×)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 100_000_000])
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
        "--peers", nargs="+", choices=list(PEERS), default=list(PEERS), help="which peers run"
    )
    parser.add_argument("--no-host", action="store_true", help="skip the figures on the host")
    parser.add_argument(
        "--no-standalone", action="store_true", help="skip procesar_ventas standalone"
    )
    parser.add_argument("--no-stack", action="store_true", help="skip everything in a stack")
    parser.add_argument("--no-fixed", action="store_true", help="skip the sample and its floor")
    parser.add_argument(
        "--backfill-rows",
        type=int,
        default=10_000_000,
        help="the file the year's backfill reads (0: no backfill)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"also profile one standalone run per file (pyinstrument), into {RESULTS}",
    )
    args = parser.parse_args()

    csvs = {rows: sales_file(rows, args.cache) for rows in args.rows}
    print(f"machine: {load()}", flush=True)
    figures: dict[int, dict[str, Figure]] = {rows: {} for rows in csvs}
    results: dict[str, dict] = {"fixed": {}, "backfill": {}}
    if not args.no_stack:
        results = in_stack(csvs, args.repeat, args)
        for rows, figure in results["files"].items():
            figures[rows] |= figure
    for rows, csv in csvs.items():
        contenders: dict[str, Callable[[], tuple[float, float]]] = {}
        if not args.no_host and not args.no_peers:
            contenders |= {
                f"{name} {HOST}": partial(peer, script, csv)
                for name, script in PEERS.items()
                if name in args.peers
            }
        if not args.no_standalone and not args.no_host:
            contenders[f"{STANDALONE} {HOST}"] = partial(standalone, csv)
        figures[rows] |= in_turns(contenders, args.repeat, f"{rows:,} rows, {HOST}")
    print(f"machine: {load()}")

    for rows, csv in csvs.items():
        if figures[rows]:
            report(rows, csv, figures[rows], args.repeat)
    peaks = {rows: f[STACK].peak for rows, f in figures.items() if STACK in f}
    if peaks and all(peaks.values()):
        line = ", ".join(f"{rows:,} rows {peak:,.0f} MB" for rows, peak in peaks.items())
        print(f"\nrun container peak: {line} (target at 100M ≤ {MEMORY_TARGET_MB:,} MB)")
        if {10_000_000, 100_000_000} <= peaks.keys():
            growth = peaks[100_000_000] / peaks[10_000_000]
            print(f"  100M / 10M rows: {growth:.2f}× (target ≤ {GROWTH_TARGET}×)")
    if results["fixed"]:
        print("\nthe fixed cost: " + ratio_line(results["fixed"], SAMPLE, FLOOR, SAMPLE_TARGET))
    if results["backfill"]:
        names = list(results["backfill"])
        print(
            f"\na year's backfill ({args.backfill_rows:,} rows): "
            + ratio_line(results["backfill"], names[1], names[0], BACKFILL_TARGET)
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
