import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

import ventas.definitions
from locationkit.data import DataDirectory
from ventas.io_manager import IN_MEMORY, ParquetIOManager

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(autouse=True)
def default_settings(monkeypatch) -> None:
    """The tests check the defaults, whatever the person running them has set."""
    for name in os.environ:
        if name.startswith(("VENTAS_", "DAGSTER_")):
            monkeypatch.delenv(name)


@pytest.fixture
def defs(default_settings) -> dg.Definitions:
    """The code location's definitions, built as Dagster builds them."""
    return ventas.definitions.defs()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private copy of the sample inputs; outputs land under it."""
    for csv in SAMPLE_DATA.glob("*.csv"):
        shutil.copy(csv, tmp_path / csv.name)
    return tmp_path


@pytest.fixture
def resources(data_dir: Path) -> dict:
    return {
        "data_dir": DataDirectory(path=str(data_dir)),
        "io_manager": ParquetIOManager(base_dir=str(data_dir)),
        IN_MEMORY: dg.InMemoryIOManager(),
    }


@pytest.fixture
def arrow_peak():
    """`measure(code)`: run `code` in a fresh Python and return what it left in `result`, and
    the most memory Arrow held at once while it ran, beyond what it held before. Exactly: the
    high-water mark of Arrow's default pool, in a process that did nothing else, with every
    allocation of every thread counted (a pool of the test's own misses those that Arrow's C++
    makes from the default one; sampling misses those between two samples)."""

    def measure(code: str):
        script = (
            "import json, pyarrow as pa\n"
            "pool = pa.default_memory_pool()\n"
            "before = pool.bytes_allocated()\n"
            f"{textwrap.dedent(code)}\n"
            'print(json.dumps({"result": result, "peak": pool.max_memory() - before}))\n'
        )
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        return measured["result"], measured["peak"]

    return measure
