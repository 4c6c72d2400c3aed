"""Sensors: a sales file dropped into data/incoming/ starts one ingestion run; a successful run
moves its file to data/archive/. A file whose run fails stays in data/incoming/, to be fixed."""

import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from locationkit.data import DataDirectory
from ventas.defs.entrantes.assets import (
    ARCHIVOS_ENTRANTES,
    archivos_entrantes,
    incoming_file_name,
    ventas_entrantes,
)
from ventas.defs.entrantes.jobs import ingerir_ventas
from ventas.settings import Settings

# A file being copied keeps changing; it is taken once it has been still this long.
SETTLE_SECONDS = 5


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def partition_key(path: Path, digest: str) -> str:
    return f"{path.name}@{digest[:8]}"


def archive(source: Path, digest: str, data_dir: DataDirectory) -> Path:
    """Move `source` into data/archive/, beside any earlier file of the same name."""
    data_dir.archive.mkdir(parents=True, exist_ok=True)
    target = data_dir.archive / source.name
    if target.exists() and sha256(target) != digest:
        target = target.with_name(f"{target.stem}.{digest[:8]}{target.suffix}")
    source.replace(target)
    return target


def ventas_entrantes_sensor(
    context: dg.SensorEvaluationContext, data_dir: DataDirectory
) -> dg.SensorResult:
    """One run per sales file in data/incoming/.

    The run key is the file's name and content hash, so a file runs exactly
    once: dropping the same file again starts nothing (it goes straight to the
    archive), while a corrected file (new content) runs again. The cursor
    remembers each file's hash while its size and modification time stay the
    same.
    """
    known = json.loads(context.cursor or "{}")
    seen: dict[str, list] = {}
    keys: list[str] = []
    ingested = context.instance.get_materialized_partitions(ventas_entrantes.key)
    for path in sorted(p for p in data_dir.incoming.glob("*.csv") if p.is_file()):
        stat = path.stat()
        if time.time() - stat.st_mtime < SETTLE_SECONDS:
            continue
        if not path.name.isprintable() or "..." in path.name:
            context.log.warning(
                f"Skipped {path.name!r}: rename it without '...' or control "
                "characters to ingest it."
            )
            continue
        cached = known.get(path.name)
        digest = (
            cached[2] if cached and cached[:2] == [stat.st_size, stat.st_mtime_ns] else sha256(path)
        )
        key = partition_key(path, digest)
        if key in ingested:  # the same content again: nothing to run, nothing to keep waiting
            context.log.info(
                f"{path.name} was ingested before as {key}; archived it as "
                f"{archive(path, digest, data_dir).name}."
            )
            continue
        seen[path.name] = [stat.st_size, stat.st_mtime_ns, digest]
        keys.append(key)

    new_keys = [
        key for key in keys if not context.instance.has_dynamic_partition(ARCHIVOS_ENTRANTES, key)
    ]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=key, partition_key=key) for key in keys],
        dynamic_partitions_requests=[archivos_entrantes.build_add_request(new_keys)]
        if new_keys
        else [],
        cursor=json.dumps(seen),
    )


def archivar_ventas_entrantes(context: dg.RunStatusSensorContext, data_dir: DataDirectory) -> None:
    """Move a file to data/archive/ once its ingestion run has succeeded, if it is still the
    file that was ingested (a file changed since then is left for the sensor to ingest)."""
    key = context.dagster_run.tags["dagster/partition"]
    source = data_dir.incoming / incoming_file_name(key)
    if not source.exists():
        context.log.info(f"{source} is gone already; nothing to archive.")
        return
    digest = sha256(source)
    if partition_key(source, digest) != key:
        context.log.warning(
            f"{source} changed after run {context.dagster_run.run_id} read it; "
            "left in place, so that the sensor ingests the new content."
        )
        return
    context.log.info(f"Archived {source.name} as {archive(source, digest, data_dir)}.")


@dg.definitions
def sensors() -> dg.Definitions:
    """The two sensors, looking as often as the settings say, read when the definitions are
    built. Archiving always runs: a file whose run succeeded has nothing left to wait for."""
    settings = Settings.from_env()
    return dg.Definitions(
        sensors=[
            dg.sensor(
                job=ingerir_ventas,
                minimum_interval_seconds=settings.sensor_interval,
                default_status=settings.sensor_status,
            )(ventas_entrantes_sensor),
            dg.run_status_sensor(
                run_status=dg.DagsterRunStatus.SUCCESS,
                monitored_jobs=[ingerir_ventas],
                default_status=dg.DefaultSensorStatus.RUNNING,
                minimum_interval_seconds=settings.sensor_interval,
            )(archivar_ventas_entrantes),
        ]
    )
