"""Pure pandas transforms of the ventas pipeline: no Dagster here, so tests call them directly."""

from __future__ import annotations

import pandas as pd


def clean_sales(ventas: pd.DataFrame) -> pd.DataFrame:
    """Drop rows with any missing field and add `total = precio * cantidad`."""
    limpias = ventas.dropna()
    return limpias.assign(total=limpias["precio"] * limpias["cantidad"])


def total_by_category(ventas: pd.DataFrame) -> pd.DataFrame:
    """Sum `total` per `categoria`, one row per category, sorted by category."""
    return ventas.groupby("categoria", as_index=False, sort=True)["total"].sum()
