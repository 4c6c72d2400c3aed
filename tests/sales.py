"""Sales files for the tests, and what the tutorial's pipeline makes of one, computed on its
own with plain pandas: one home for both, which every test folder imports (pytest puts the
repository on the path: pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HEADER = "fecha,producto,categoria,precio,cantidad,usuario_id\n"
# A file whose third line has a word where a price belongs.
BAD_SALES = (
    HEADER
    + "2024-03-01,Café molido,Alimentación,4.60,2,17\n"
    + "2024-03-02,Tableta,Electrónica,trescientos,1,3\n"
)


def tutorial_results(sales: Path) -> dict[str, pd.DataFrame]:
    """What procesar_ventas writes for the CSV `sales`, by asset: the rows read, the complete
    ones with their total, and the three summaries."""
    raw = pd.read_csv(sales, dtype={"producto": object, "categoria": object})
    raw["fecha"] = pd.to_datetime(raw["fecha"], format="%Y-%m-%d")
    clean = raw.dropna().reset_index(drop=True)
    clean["total"] = clean["precio"] * clean["cantidad"]
    per_day = clean.groupby("fecha").agg(
        ventas=("total", "size"), cantidad=("cantidad", "sum"), total=("total", "sum")
    )
    return {
        "ventas_raw": raw,
        "ventas_procesadas": clean,
        "ventas_por_categoria": clean.groupby("categoria")[["total"]].sum().reset_index(),
        "ventas_por_producto": clean.groupby(["categoria", "producto"])[["cantidad", "total"]]
        .sum()
        .reset_index()
        .sort_values("total", ascending=False, ignore_index=True),
        "ventas_por_dia": per_day.reset_index(),
    }
