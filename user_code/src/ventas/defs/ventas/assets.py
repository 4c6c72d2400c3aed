"""The tutorial's pipeline: the sales as they arrive, cleaned, and summarized three ways."""

from collections.abc import Callable

import dagster as dg
import pyarrow as pa

from locationkit.data import DataDirectory
from ventas import transforms
from ventas.reading import sales_file
from ventas.tables import Batches, Table

VENTAS = "ventas"


@dg.asset(group_name=VENTAS, kinds={"csv", "parquet"})
def ventas_raw(context: dg.AssetExecutionContext, data_dir: DataDirectory) -> Batches:
    """Every sale in `ventas.csv`, typed (fecha a date, numbers numbers), read in batches."""
    return sales_file(context, data_dir.file("ventas.csv"))


@dg.asset(group_name=VENTAS, kinds={"pandas", "parquet"})
def ventas_procesadas(ventas_raw: Table) -> Batches:
    """Sales without incomplete rows, with `total = precio * cantidad`."""
    return ventas_raw.map_batches(transforms.clean_sales)


# Three independent summaries of ventas_procesadas: parallel branches in the graph.


def _summarize(
    context: dg.AssetExecutionContext,
    ventas_procesadas: Table,
    summary: Callable[[transforms.Relation], transforms.Relation],
) -> pa.Table:
    if ventas_procesadas.num_rows == 0:
        context.log.warning(
            "ventas_procesadas is empty: the sales file has no sale with every field filled in. "
            f"{context.asset_key.to_user_string()} is empty too, so every total is zero."
        )
    return ventas_procesadas.summarize(summary)


@dg.asset(group_name=VENTAS, kinds={"duckdb", "parquet"})
def ventas_por_categoria(
    context: dg.AssetExecutionContext, ventas_procesadas: Table
) -> dg.Output[pa.Table]:
    """Total sales per category."""
    resumen = _summarize(context, ventas_procesadas, transforms.total_by_category)
    totales = resumen.to_pandas()
    return dg.Output(
        resumen,
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


@dg.asset(group_name=VENTAS, kinds={"duckdb", "parquet"})
def ventas_por_producto(context: dg.AssetExecutionContext, ventas_procesadas: Table) -> pa.Table:
    """Units and total sales per product, best-selling first."""
    return _summarize(context, ventas_procesadas, transforms.total_by_product)


@dg.asset(group_name=VENTAS, kinds={"duckdb", "parquet"})
def ventas_por_dia(context: dg.AssetExecutionContext, ventas_procesadas: Table) -> pa.Table:
    """Number of sales, units and total per day."""
    return _summarize(context, ventas_procesadas, transforms.total_by_day)
