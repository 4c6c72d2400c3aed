from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private copy of the sample inputs; outputs land under it."""
    for csv in SAMPLE_DATA.glob("*.csv"):
        shutil.copy(csv, tmp_path / csv.name)
    return tmp_path
