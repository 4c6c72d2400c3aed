"""The tutorial's assets: raw sales, cleaned sales with totals, totals per category."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from ventas import transforms
from ventas.defs.resources import SalesData

GROUP = "ventas"


@dg.asset(group_name=GROUP, kinds={"pandas", "csv"})
def ventas_raw(sales_data: SalesData) -> pd.DataFrame:
    """Sales exactly as they come in `ventas.csv`."""
    return pd.read_csv(sales_data.input_path("ventas.csv"))


@dg.asset(group_name=GROUP, kinds={"pandas", "parquet"})
def ventas_procesadas(ventas_raw: pd.DataFrame) -> pd.DataFrame:
    """Sales without incomplete rows, with `total = precio * cantidad`."""
    return transforms.clean_sales(ventas_raw)


@dg.asset(group_name=GROUP, kinds={"pandas", "parquet"})
def ventas_por_categoria(ventas_procesadas: pd.DataFrame) -> pd.DataFrame:
    """Total sales per category."""
    return transforms.total_by_category(ventas_procesadas)
