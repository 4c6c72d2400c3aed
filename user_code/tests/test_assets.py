from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from ventas.defs.assets import ventas_por_categoria, ventas_procesadas, ventas_raw
from ventas.defs.io_managers import ParquetIOManager
from ventas.defs.resources import SalesData

ASSETS = [ventas_raw, ventas_procesadas, ventas_por_categoria]


def resources(data_dir: Path) -> dict:
    return {"sales_data": SalesData(base_dir=str(data_dir)),
            "io_manager": ParquetIOManager(base_dir=str(data_dir))}


def test_materialize_writes_every_asset_as_parquet(data_dir):
    result = dg.materialize(ASSETS, resources=resources(data_dir))
    assert result.success

    raw = pd.read_csv(data_dir / "ventas.csv")
    procesadas = pd.read_parquet(data_dir / "output" / "ventas_procesadas.parquet")
    por_categoria = pd.read_parquet(data_dir / "output" / "ventas_por_categoria.parquet")
    assert len(procesadas) == len(raw.dropna()) < len(raw)  # the sample has empty fields
    assert list(procesadas.columns) == [*raw.columns, "total"]
    assert por_categoria["total"].sum() == pytest.approx(procesadas["total"].sum())
    assert por_categoria["categoria"].is_unique
    assert result.output_for_node("ventas_por_categoria").equals(por_categoria)


def test_a_failed_write_keeps_the_last_good_output(data_dir):
    assert dg.materialize(ASSETS, resources=resources(data_dir)).success
    output = data_dir / "output" / "ventas_por_categoria.parquet"
    good = output.read_bytes()

    @dg.asset(name="ventas_por_categoria")
    def unwritable() -> pd.DataFrame:
        # pyarrow cannot store arbitrary Python objects: the write fails half-way.
        return pd.DataFrame({"categoria": ["Hogar"], "total": [object()]})

    result = dg.materialize([unwritable], resources=resources(data_dir), raise_on_error=False)

    assert not result.success
    assert output.read_bytes() == good
    assert sorted(p.name for p in output.parent.iterdir()) == [
        "ventas_por_categoria.parquet", "ventas_procesadas.parquet", "ventas_raw.parquet"]
