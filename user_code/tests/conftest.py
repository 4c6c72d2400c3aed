import os
import shutil
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
