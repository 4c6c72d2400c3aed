import os
import shutil
from pathlib import Path

# The code location reads its settings from the environment; the tests check the defaults,
# whatever the person running them has set.
for name in [name for name in os.environ if name.startswith(("VENTAS_", "DAGSTER_"))]:
    del os.environ[name]

import dagster as dg
import pytest

from ventas.defs.io_managers import ParquetIOManager
from ventas.defs.ops import IN_MEMORY
from ventas.defs.resources import DataDirectory

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private copy of the sample inputs; outputs land under it."""
    for csv in SAMPLE_DATA.glob("*.csv"):
        shutil.copy(csv, tmp_path / csv.name)
    return tmp_path


@pytest.fixture
def resources(data_dir: Path) -> dict:
    return {
        "sales_data": DataDirectory(path=str(data_dir)),
        "io_manager": ParquetIOManager(base_dir=str(data_dir)),
        IN_MEMORY: dg.InMemoryIOManager(),
    }
