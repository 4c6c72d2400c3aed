"""Measure the stack: image sizes, builds, start-up, run latency, redeploy, restart, memory.

    .venv/bin/python -m bench.bench_stack [--runs 5] [--skip-build]

Creates its own stacks (unique project names, free ports) and removes them
afterwards. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.e2e.compose_stack import (
    ApiLoad,
    Stack,
    docker,
    new_project_name,
    project_copy,
    wait_until,
)

BASE_IMAGE = "python:3.13-slim"


def mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:.0f} MB"


def image_size(image: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", image).stdout)


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def measure_builds(stack: Stack) -> None:
    # --no-cache rebuilds every layer; uv's download cache (a BuildKit cache
    # mount) may still be warm, so this is a cold build with packages cached.
    cold = timed(stack.compose, "build", "--no-cache", "--quiet")
    print(f"cold build (no layer cache), both images: {cold:.1f} s")
    definitions = stack.project_dir / "user_code/src/ventas/definitions.py"
    definitions.write_text(definitions.read_text() + "\n# a code-only change\n")
    rebuild = timed(stack.compose, "build", "--quiet", "user_code")
    print(f"rebuild after a code-only change: {rebuild:.1f} s")


def measure_images(stack: Stack) -> None:
    """Each image's size, and what its layers weigh (the base image's counted once)."""
    base = image_size(BASE_IMAGE)
    print(f"{BASE_IMAGE}: {mb(base)} here")
    for name in ("user_code", "informes", "dagster"):
        image = f"{stack.project}-{name}"
        size = image_size(image)
        print(f"image {name}: {mb(size)} ({mb(size - base)} on top of {BASE_IMAGE})")
        history = docker("history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", image)
        for line in history.stdout.splitlines()[: -base_layers(BASE_IMAGE)]:
            layer, created_by = line.split("\t", 1)
            if layer not in ("0B", "0"):
                print(f"  {layer:>8}  {created_by[:90]}")


def base_layers(image: str) -> int:
    return len(docker("history", "-q", image).stdout.splitlines())


def up_until_loaded(stack: Stack) -> tuple[float, float, float]:
    """`up --detach`, timed from its start: until the UI serves, until the code location is
    loaded, and until the command returns (s). The UI is polled while `up` is still going:
    `up` returns only once every service has started, the daemon last, after the code
    servers' health checks."""

    def serving() -> bool:
        try:
            return requests.get(f"{stack.url}/server_info", timeout=5).ok
        except requests.RequestException:
            return False

    def up() -> float:
        stack.compose("up", "--detach")
        return time.perf_counter() - start

    with ThreadPoolExecutor(max_workers=1) as pool:
        start = time.perf_counter()
        returned = pool.submit(up)
        wait_until(serving, 120, "the UI", interval=0.05)
        ui = time.perf_counter() - start
        stack.wait_for_location()
        location = time.perf_counter() - start
        return ui, location, returned.result()


def measure_startup(stack: Stack) -> None:
    ui, location, returned = up_until_loaded(stack)
    print(
        f"up (fresh volumes) -> UI serving: {ui:.1f} s; -> location loaded: {location:.1f} s; "
        f"`up --detach` returned after {returned:.1f} s"
    )


def measure_restart(stack: Stack, times: int = 3) -> None:
    """`down`, then `up --detach` with the images built and the volumes kept."""
    for _ in range(times):
        stack.compose("down", "--timeout", "10")
        ui, location, returned = up_until_loaded(stack)
        print(
            f"restart (down, then up with images and volumes kept) -> UI serving: {ui:.1f} s; "
            f"-> location loaded: {location:.1f} s; `up --detach` returned after {returned:.1f} s"
        )
        stack.compose("up", "--detach", "--wait")  # every service settled before the next


def measure_redeploy(stack: Stack, times: int = 3) -> None:
    """`up -d --build user_code` after adding an asset, until the UI's API lists it: the
    command's own time (build, recreate), then from its return until the asset is visible."""
    for turn in range(1, times + 1):
        asset = f"recien_desplegado_{turn}"
        (stack.project_dir / f"user_code/src/ventas/defs/{asset}.py").write_text(
            f"import dagster as dg\n\n\n@dg.asset\ndef {asset}() -> int:\n    return 1\n",
            encoding="utf-8",
        )

        def visible(asset: str = asset) -> bool:
            return asset in str(stack.location()["locationOrLoadError"])

        start = time.perf_counter()
        stack.compose("up", "--detach", "--build", "user_code")
        returned = time.perf_counter()
        wait_until(visible, 120, "the new asset", interval=0.1)
        end = time.perf_counter()
        print(
            f"redeploy: `up -d --build user_code` returned after {returned - start:.1f} s "
            f"(build, recreate); from its return -> new asset visible: {end - returned:.1f} s "
            f"(in all {end - start:.1f} s)"
        )
        stack.compose("up", "--detach", "--wait")  # every service settled before the next


# The events that mark a run's phases, by the status the run then has.
PHASES = {
    "RunEnqueuedEvent": "QUEUED",
    "RunStartingEvent": "STARTING",
    "RunStartEvent": "STARTED",
    "RunSuccessEvent": "SUCCESS",
}
EVENT_TIMES = """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection {
    events { __typename ... on MessageEvent { timestamp } } } } }"""


def phases_of(stack: Stack, run_id: str, launched: float) -> dict[str, float]:
    """When the run reached each phase, in seconds from `launched` (a `time.time()`), read from
    its event log: the containers share the host's clock, and the run is not slowed by polling."""
    reached: dict[str, float] = {}
    for event in stack.graphql(EVENT_TIMES, {"id": run_id})["logsForRun"]["events"]:
        if status := PHASES.get(event["__typename"]):
            reached.setdefault(status, int(event["timestamp"]) / 1000 - launched)
    return reached


def measure_runs(stack: Stack, runs: int, job: str = "procesar_ventas") -> None:
    """launch -> SUCCESS of the sample, and how long the run spends reaching each status:
    QUEUED (created, in the queue), STARTING (the daemon took it, its container is being
    started), STARTED (the run's process is up), SUCCESS (the work done)."""
    at: dict[str, list[float]] = {status: [] for status in PHASES.values()}
    took: dict[str, list[float]] = {status: [] for status in PHASES.values()}
    for _ in range(runs):
        launched = time.time()
        run_id = stack.launch(job)
        status = stack.wait_for_run(run_id, interval=0.5)["status"]
        if status != "SUCCESS":
            raise RuntimeError(f"run {run_id} ended {status}")
        before = 0.0
        for status, seconds in phases_of(stack, run_id, launched).items():
            at[status].append(seconds)
            took[status].append(seconds - before)
            before = seconds
    phases = ", ".join(
        f"{status} at {statistics.median(at[status]):.1f} s "
        f"(+{statistics.median(took[status]):.1f})"
        for status in at
        if at[status]
    )
    totals = at["SUCCESS"]
    print(
        f"launch -> SUCCESS of {job}: median {statistics.median(totals):.1f} s over {runs} "
        f"runs (min {min(totals):.1f}, max {max(totals):.1f}); medians from the launch "
        f"(and of each phase): {phases}"
    )


def measure_api_under_load(stack: Stack, runs: int = 10, clients: int = 10) -> None:
    """GraphQL latency while `clients` poll the runs list and `runs` runs go through the queue."""
    with ApiLoad(stack, clients=clients) as load:
        launched = [stack.launch("procesar_ventas") for _ in range(runs)]
        for run_id in launched:
            stack.wait_for_run(run_id, timeout=600, interval=1.0)
    print(
        f"API with {clients} clients polling during {runs} runs: {len(load.latencies)} "
        f"requests, p50 {load.percentile(0.5) * 1000:.0f} ms, "
        f"p95 {load.percentile(0.95) * 1000:.0f} ms, errors {len(load.errors)}"
    )


def measure_idle_memory(stack: Stack) -> None:
    time.sleep(10)  # let start-up settle
    names = [
        info["Name"].lstrip("/") for info in stack.containers().values() if info["State"]["Running"]
    ]  # not the one-shot migrate, long finished
    out = docker("stats", "--no-stream", "--format", "{{json .}}", *names).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    print(
        "idle memory: "
        + ", ".join(
            f"{r['Name'].removeprefix(stack.project + '-').removesuffix('-1')} "
            f"{r['MemUsage'].split(' / ')[0]}"
            for r in rows
        )
    )


def measure_idle_cpu(stack: Stack, seconds: float = 30) -> None:
    """CPU used by the idle stack (health checks, daemon loops, UI polling) over `seconds`."""
    ids = {
        service: info["Id"]
        for service, info in stack.containers().items()
        if info["State"]["Running"]
    }

    def cpu_ns() -> dict[str, int]:
        # cgroup v2 first, then v1; containers run in system.slice or docker/.
        found = {}
        for service, cid in ids.items():
            for path in (
                f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat",
                f"/sys/fs/cgroup/docker/{cid}/cpu.stat",
            ):
                try:
                    text = Path(path).read_text()
                except OSError:
                    continue
                usage = dict(line.split() for line in text.splitlines())
                found[service] = int(usage["usage_usec"]) * 1000
                break
            else:
                with contextlib.suppress(OSError):
                    found[service] = int(
                        Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage").read_text()
                    )
        return found

    before = cpu_ns()
    if not before:
        print("idle CPU: cgroup files not readable here; skipped")
        return
    time.sleep(seconds)
    after = cpu_ns()
    shares = {s: (after[s] - before[s]) / 1e9 / seconds * 100 for s in before}
    print(
        f"idle CPU over {seconds:.0f} s (% of one core): "
        + ", ".join(f"{s} {v:.1f}" for s, v in shares.items())
        + f"; total {sum(shares.values()):.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-build", action="store_true", help="skip the build timings")
    args = parser.parse_args()

    source = project_copy(Path(tempfile.mkdtemp(prefix="ventas-bench-src-")))
    stack = Stack(project=new_project_name("ventas-bench"), project_dir=source)
    try:
        stack.prepare_data()
        if args.skip_build:
            stack.build()
        else:
            measure_builds(stack)
        measure_images(stack)
        measure_startup(stack)
        measure_runs(stack, args.runs)
        measure_redeploy(stack)
        measure_restart(stack)
        measure_api_under_load(stack)
        measure_idle_memory(stack)
        measure_idle_cpu(stack)
    finally:
        stack.destroy()
        shutil.rmtree(source.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
