"""The incoming-files sensor, the ingestion of one file, and the archiving of it afterwards."""

import hashlib
import json
import os
import time

import dagster as dg

from locationkit.data import DataDirectory
from tests.sales import HEADER
from ventas.defs.entrantes.assets import archivos_entrantes


def drop(data_dir, name: str, content: str, age: float = 60):
    """Put a file in data/incoming/, last modified `age` seconds ago."""
    incoming = data_dir / "incoming"
    incoming.mkdir(exist_ok=True)
    path = incoming / name
    path.write_text(content, encoding="utf-8")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def evaluate(defs, instance, data_dir, cursor=None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"data_dir": DataDirectory(path=str(data_dir))},
    )
    return defs.resolve_sensor_def("ventas_entrantes_sensor")(context)


def test_a_new_file_gets_one_run_keyed_by_its_content(defs, data_dir):
    path = drop(data_dir, "ventas_lunes.csv", HEADER + "2024-03-04,Café,Alimentación,4.6,2,1\n")
    with dg.instance_for_test() as instance:
        result = evaluate(defs, instance, data_dir)
    (request,) = result.run_requests
    assert (
        request.run_key
        == request.partition_key
        == f"ventas_lunes.csv@{hashlib.sha256(path.read_bytes()).hexdigest()[:8]}"
    )
    (add,) = result.dynamic_partitions_requests
    assert list(add.partition_keys) == [request.partition_key]


def test_the_same_content_dropped_again_has_the_same_key_and_new_content_a_new_one(defs, data_dir):
    content = HEADER + "2024-03-04,Café,Alimentación,4.6,2,1\n"
    with dg.instance_for_test() as instance:
        drop(data_dir, "v.csv", content)
        first = evaluate(defs, instance, data_dir)
        drop(data_dir, "v.csv", content, age=30)  # a new copy: another modification time
        again = evaluate(defs, instance, data_dir)
        drop(data_dir, "v.csv", content + content)
        fixed = evaluate(defs, instance, data_dir)
    assert first.run_requests[0].run_key == again.run_requests[0].run_key
    assert fixed.run_requests[0].run_key != first.run_requests[0].run_key


def test_a_file_still_being_written_waits(defs, data_dir):
    drop(data_dir, "copiando.csv", HEADER, age=0)
    with dg.instance_for_test() as instance:
        assert evaluate(defs, instance, data_dir).run_requests == []


def test_the_cursor_spares_hashing_an_unchanged_file_again(defs, data_dir):
    drop(data_dir, "v.csv", HEADER + "2024-03-04,Café,Alimentación,4.6,2,1\n")
    with dg.instance_for_test() as instance:
        first = evaluate(defs, instance, data_dir)
        # A cursor that remembers another hash for the same size and modification time: the
        # sensor trusts it rather than reading the file again.
        remembered = json.loads(first.cursor)
        remembered["v.csv"][2] = "feedbeef" * 8
        second = evaluate(defs, instance, data_dir, cursor=json.dumps(remembered))
    assert second.run_requests[0].run_key == "v.csv@feedbeef"
    assert json.loads(second.cursor) == remembered


def ingest(defs, instance, resources, key: str):
    instance.add_dynamic_partitions(archivos_entrantes.name, [key])
    return defs.resolve_job_def("ingerir_ventas").execute_in_process(
        resources=resources, partition_key=key, instance=instance, raise_on_error=False
    )


def archive(defs, instance, data_dir, result) -> None:
    (success,) = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)
    context = dg.build_run_status_sensor_context(
        sensor_name="archivar_ventas_entrantes",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=success.dagster_event,
        resources={"data_dir": DataDirectory(path=str(data_dir))},
    )
    defs.resolve_sensor_def("archivar_ventas_entrantes")(context)


def test_an_ingested_file_is_stored_then_archived(defs, data_dir, resources):
    path = drop(data_dir, "ventas_lunes.csv", HEADER + "2024-03-04,Café,Alimentación,4.6,2,1\n")
    with dg.instance_for_test() as instance:
        (request,) = evaluate(defs, instance, data_dir).run_requests
        result = ingest(defs, instance, resources, request.partition_key)
        assert result.success
        archive(defs, instance, data_dir, result)
    stored = data_dir / "output" / "ventas_entrantes" / f"{request.partition_key}.parquet"
    assert stored.is_file()
    assert not path.exists()
    assert (
        (data_dir / "archive" / "ventas_lunes.csv")
        .read_text(encoding="utf-8")
        .endswith("4.6,2,1\n")
    )


def test_a_second_file_of_the_same_name_is_archived_beside_the_first(defs, data_dir, resources):
    with dg.instance_for_test() as instance:
        for price in ("4.6", "5.1"):
            drop(data_dir, "hoy.csv", HEADER + f"2024-03-04,Café,Alimentación,{price},2,1\n")
            (request,) = evaluate(defs, instance, data_dir).run_requests
            archive(
                defs, instance, data_dir, ingest(defs, instance, resources, request.partition_key)
            )
    assert len(list((data_dir / "archive").glob("hoy*.csv"))) == 2


def test_a_file_changed_after_its_run_is_not_archived(defs, data_dir, resources):
    path = drop(data_dir, "v.csv", HEADER + "2024-03-04,Café,Alimentación,4.6,2,1\n")
    with dg.instance_for_test() as instance:
        (request,) = evaluate(defs, instance, data_dir).run_requests
        result = ingest(defs, instance, resources, request.partition_key)
        path.write_text(HEADER, encoding="utf-8")
        archive(defs, instance, data_dir, result)
    assert path.exists() and not (data_dir / "archive").exists()


def test_a_bad_file_fails_its_run_clearly_and_stays_in_incoming(defs, data_dir, resources):
    path = drop(data_dir, "roto.csv", HEADER + "2024-03-04,Café,Alimentación,gratis,2,1\n")
    with dg.instance_for_test() as instance:
        (request,) = evaluate(defs, instance, data_dir).run_requests
        result = ingest(defs, instance, resources, request.partition_key)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    error = failure.step_failure_data.error
    assert "line 2: 'gratis'" in (error.cause.message if error.cause else error.message)
    assert path.exists()


def test_a_file_dropped_again_after_its_ingestion_goes_straight_to_the_archive(
    defs, data_dir, resources
):
    content = HEADER + "2024-03-04,Café,Alimentación,4.6,2,1\n"
    with dg.instance_for_test() as instance:
        drop(data_dir, "v.csv", content)
        (request,) = evaluate(defs, instance, data_dir).run_requests
        archive(defs, instance, data_dir, ingest(defs, instance, resources, request.partition_key))
        again = drop(data_dir, "v.csv", content)
        assert evaluate(defs, instance, data_dir).run_requests == []
    assert not again.exists()
    assert [p.name for p in (data_dir / "archive").iterdir()] == ["v.csv"]
