"""locationkit.files: a file written atomically, and the temporary files of killed writers
swept by the next writer while a live writer's stays."""

import os
import subprocess
import sys
import time

import pytest

from locationkit.files import remove_leftovers, replacing

# Another process writing `path`, as a run does, until it is killed.
WRITER = """
import sys, time
from pathlib import Path
from locationkit.files import replacing

with replacing(Path(sys.argv[1])) as tmp:
    tmp.write_text("half of it")
    while True:
        time.sleep(0.05)
"""


@pytest.fixture
def writer_of():
    started = []

    def start(path) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)],
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        started.append(process)
        deadline = time.monotonic() + 60
        while not list(path.parent.glob(f".{path.name}.*.tmp")):
            assert process.poll() is None and time.monotonic() < deadline, "no writer started"
            time.sleep(0.05)
        return process

    yield start
    for process in started:
        process.kill()
        process.wait()


def test_the_new_content_replaces_the_file_only_when_complete(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("last good")

    def fail_halfway() -> None:
        with replacing(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("the writer failed")

    with pytest.raises(RuntimeError):
        fail_halfway()
    assert path.read_text() == "last good"
    with replacing(path) as tmp:
        tmp.write_text("new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_a_killed_writers_temporary_file_is_removed_by_the_next_writer(tmp_path, writer_of):
    path = tmp_path / "t.txt"
    killed = writer_of(path)
    killed.kill()
    killed.wait()
    (leftover,) = tmp_path.glob(".t.txt.*.tmp")
    with replacing(path) as tmp:
        tmp.write_text("new")
    assert not leftover.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_a_live_writers_temporary_file_is_left_alone(tmp_path, writer_of):
    path = tmp_path / "t.txt"
    writer_of(path)
    (in_use,) = tmp_path.glob(".t.txt.*.tmp")
    assert remove_leftovers(path) == []
    with replacing(path) as tmp:
        tmp.write_text("new")
    assert in_use.exists() and path.read_text() == "new"


def test_only_the_temporary_files_of_the_file_written_count_as_its_leftovers(tmp_path):
    path = tmp_path / "2024-01-01.parquet"
    others = [".2024-01-01.parquet.tmp", ".2024-01-011.parquet.x.tmp", "2024-01-01.parquet.x.tmp"]
    for name in [*others, ".2024-01-01.parquet.x.tmp"]:
        (tmp_path / name).write_text("left")
    assert remove_leftovers(path) == [tmp_path / ".2024-01-01.parquet.x.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(others)
