"""Pure transforms of the ventas pipeline: no Dagster and no files here, so tests call them
directly. Row by row work is pandas, on a DataFrame that may be the whole table or one batch
of it (the assets decide); the summaries are DuckDB relations."""

from __future__ import annotations

import duckdb
import pandas as pd

from locationkit.failures import UserError

Relation = duckdb.DuckDBPyRelation


def clean_sales(ventas: pd.DataFrame) -> pd.DataFrame:
    """Drop rows with any missing field and add `total = precio * cantidad`."""
    limpias = ventas.dropna()
    fraccionarias = limpias["cantidad"] % 1 != 0
    if fraccionarias.any():
        raise UserError(
            f"cantidad must be a whole number; found {limpias['cantidad'][fraccionarias].iloc[0]}."
            " Correct the quantities in the sales file (the check cantidad_entera_positiva lists"
            " every such row)."
        )
    return limpias.assign(
        cantidad=limpias["cantidad"].astype("int64"),
        usuario_id=limpias["usuario_id"].astype("int64"),
        total=limpias["precio"] * limpias["cantidad"],
    )


# The three summaries are SQL run by DuckDB on a relation: a parquet file, read in parallel
# and never whole in memory, or a DataFrame (`duckdb.from_df`). Ties are broken by name, so a
# summary is the same from run to run.


def total_by_category(ventas: Relation) -> Relation:
    """Sum `total` per `categoria`, one row per category, sorted by category."""
    return ventas.aggregate("categoria, sum(total) AS total", "categoria").order("categoria")


def total_by_product(ventas: Relation) -> Relation:
    """Units sold (`cantidad`) and `total` per product, best-selling first."""
    return ventas.aggregate(
        "categoria, producto, CAST(sum(cantidad) AS BIGINT) AS cantidad, sum(total) AS total",
        "categoria, producto",
    ).order("total DESC, categoria, producto")


def total_by_day(ventas: Relation) -> Relation:
    """Number of sales (`ventas`), units and `total` per `fecha`, oldest first."""
    return ventas.aggregate(
        "fecha, count(*) AS ventas, CAST(sum(cantidad) AS BIGINT) AS cantidad, sum(total) AS total",
        "fecha",
    ).order("fecha")


def join_users(ventas: pd.DataFrame, usuarios: pd.DataFrame) -> pd.DataFrame:
    """Each sale with its customer's `nombre`, `ciudad` and `segmento`.

    A left join: a sale whose `usuario_id` is not in `usuarios` is kept, with
    empty customer fields, rather than silently dropped.
    """
    return ventas.merge(usuarios, on="usuario_id", how="left", validate="many_to_one")
