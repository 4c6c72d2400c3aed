"""Pure pandas transforms of the ventas pipeline: no Dagster and no files here, so tests call
them directly. Each takes and returns a DataFrame; the assets decide whether it sees the whole
table or one batch of it at a time."""

from __future__ import annotations

from datetime import date

import pandas as pd

from ventas.errors import UserError


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


def by_name(values: pd.Series) -> pd.Series:
    """Sort key: text order even for categoricals, which otherwise sort by category order."""
    return values.astype("str")


# The summaries below are sums (a count is a sum of ones), so applying one to
# its own partial results gives the same answer as applying it to all rows:
# the assets compute them batch by batch.


def total_by_category(ventas: pd.DataFrame) -> pd.DataFrame:
    """Sum `total` per `categoria`, one row per category, sorted by category."""
    grupos = ventas.groupby("categoria", as_index=False, observed=True, sort=False)
    totales = grupos[["total"]].sum()
    return totales.sort_values("categoria", key=by_name, ignore_index=True)


def total_by_product(ventas: pd.DataFrame) -> pd.DataFrame:
    """Units sold (`cantidad`) and `total` per product, best-selling first."""
    por_producto = ventas.groupby(
        ["categoria", "producto"], as_index=False, observed=True, sort=False
    )[["cantidad", "total"]].sum()
    return por_producto.sort_values("total", ascending=False, ignore_index=True)


def total_by_day(ventas: pd.DataFrame) -> pd.DataFrame:
    """Number of sales (`ventas`), units and `total` per `fecha`, oldest first."""
    if "ventas" not in ventas.columns:  # individual sales rather than partial sums
        ventas = ventas.assign(ventas=1)
    return ventas.groupby("fecha", as_index=False, sort=True)[["ventas", "cantidad", "total"]].sum()


def join_users(ventas: pd.DataFrame, usuarios: pd.DataFrame) -> pd.DataFrame:
    """Each sale with its customer's `nombre`, `ciudad` and `segmento`.

    A left join: a sale whose `usuario_id` is not in `usuarios` is kept, with
    empty customer fields, rather than silently dropped.
    """
    return ventas.merge(usuarios, on="usuario_id", how="left", validate="many_to_one")


def sales_between(ventas: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """The sales with `start <= fecha < end`."""
    fecha = ventas["fecha"]
    return ventas[(fecha >= pd.Timestamp(start)) & (fecha < pd.Timestamp(end))]
