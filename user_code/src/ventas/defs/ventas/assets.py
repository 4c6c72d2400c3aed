"""The tutorial's pipeline: the sales as they arrive, cleaned, and summarized three ways."""

from collections.abc import Callable

import dagster as dg
import pandas as pd

from ventas import transforms
from ventas.reading import sales_file
from ventas.resources import DataDirectory
from ventas.tables import Batches, Table

VENTAS = "ventas"


@dg.asset(group_name=VENTAS, kinds={"csv", "parquet"})
def ventas_raw(context: dg.AssetExecutionContext, sales_data: DataDirectory) -> Batches:
    """Every sale in `ventas.csv`, typed (fecha a date, numbers numbers), read in batches."""
    return sales_file(context, sales_data.file("ventas.csv"))


@dg.asset(group_name=VENTAS, kinds={"pandas", "parquet"})
def ventas_procesadas(ventas_raw: Table) -> Batches:
    """Sales without incomplete rows, with `total = precio * cantidad`."""
    return ventas_raw.map_batches(transforms.clean_sales)


# Three independent summaries of ventas_procesadas: parallel branches in the graph.


def _summarize(
    context: dg.AssetExecutionContext,
    ventas_procesadas: Table,
    summarize: Callable[[pd.DataFrame], pd.DataFrame],
    columns: list[str],
) -> pd.DataFrame:
    if ventas_procesadas.num_rows == 0:
        context.log.warning(
            "ventas_procesadas is empty: the sales file has no sale with every field filled in. "
            f"{context.asset_key.to_user_string()} is empty too, so every total is zero."
        )
    return ventas_procesadas.aggregate(summarize, columns)


@dg.asset(group_name=VENTAS, kinds={"pandas", "parquet"})
def ventas_por_categoria(
    context: dg.AssetExecutionContext, ventas_procesadas: Table
) -> dg.Output[pd.DataFrame]:
    """Total sales per category."""
    totales = _summarize(
        context, ventas_procesadas, transforms.total_by_category, ["categoria", "total"]
    )
    return dg.Output(
        totales,
        metadata={
            "totales": dg.MetadataValue.md(totales.to_markdown(index=False, floatfmt=",.2f")),
            "total": float(totales["total"].sum()),
            # One number per category: the UI plots each across materializations.
            **{
                f"total {c}": float(t)
                for c, t in zip(totales["categoria"], totales["total"], strict=True)
            },
        },
    )


@dg.asset(group_name=VENTAS, kinds={"pandas", "parquet"})
def ventas_por_producto(
    context: dg.AssetExecutionContext, ventas_procesadas: Table
) -> pd.DataFrame:
    """Units and total sales per product, best-selling first."""
    return _summarize(
        context,
        ventas_procesadas,
        transforms.total_by_product,
        ["categoria", "producto", "cantidad", "total"],
    )


@dg.asset(group_name=VENTAS, kinds={"pandas", "parquet"})
def ventas_por_dia(context: dg.AssetExecutionContext, ventas_procesadas: Table) -> pd.DataFrame:
    """Number of sales, units and total per day."""
    return _summarize(
        context, ventas_procesadas, transforms.total_by_day, ["fecha", "cantidad", "total"]
    )
