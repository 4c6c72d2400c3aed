"""The ventas assets: the tutorial's pipeline, its parallel summaries, the join with the
customers, and a daily-partitioned history."""

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pandas as pd

from ventas import transforms
from ventas.csv_input import USUARIOS_COLUMNS, VENTAS_COLUMNS, inspect_csv, read_csv, stream_csv
from ventas.defs import settings
from ventas.defs.resources import DataDirectory
from ventas.failures import reported
from ventas.tables import Batches, Table

VENTAS = "ventas"
CLIENTES = "clientes"
ENTRANTES = "entrantes"


def _sales_file(context: dg.AssetExecutionContext, path: Path) -> Batches:
    """A sales CSV as typed batches, after checking that it can be read at all."""
    with reported():
        fmt = inspect_csv(path, VENTAS_COLUMNS)
    for note in fmt.notes:
        context.log.warning(note)
    return Batches(lambda: stream_csv(path, VENTAS_COLUMNS, fmt))


@dg.asset(group_name=VENTAS, kinds={"csv", "parquet"})
def ventas_raw(context: dg.AssetExecutionContext, sales_data: DataDirectory) -> Batches:
    """Every sale in `ventas.csv`, typed (fecha a date, numbers numbers), read in batches."""
    return _sales_file(context, sales_data.file("ventas.csv"))


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
            **{f"total {c}": float(t) for c, t in zip(totales["categoria"], totales["total"])},
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


@dg.asset(group_name=CLIENTES, kinds={"csv", "pandas"})
def usuarios(sales_data: DataDirectory) -> pd.DataFrame:
    """The customers in `usuarios.csv`."""
    with reported():
        return read_csv(sales_data.file("usuarios.csv"), USUARIOS_COLUMNS)


@dg.asset(group_name=CLIENTES, kinds={"pandas", "parquet"})
def ventas_completas(ventas_procesadas: Table, usuarios: pd.DataFrame) -> Batches:
    """Each sale with its customer: the two upstream assets arrive as parameters."""
    return ventas_procesadas.map_batches(lambda ventas: transforms.join_users(ventas, usuarios))


dias = dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone=settings.timezone())


@dg.asset(
    group_name=VENTAS,
    kinds={"pandas", "parquet"},
    partitions_def=dias,
    metadata={"partition_column": "fecha"},
    # A backfill of a year is 12 runs of up to 31 days, not 366 runs.
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=31),
)
def ventas_diarias(context: dg.AssetExecutionContext, ventas_procesadas: Table) -> pd.DataFrame:
    """The sales of each day, one partition (and one file) per `fecha`."""
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    return pd.concat(
        ventas_procesadas.map_batches(lambda ventas: transforms.sales_between(ventas, start, end)),
        ignore_index=True,
    )


# One partition per file dropped into data/incoming/: `<file name>@<first 8 hex of its SHA-256>`.
archivos_entrantes = dg.DynamicPartitionsDefinition(name="archivos_entrantes")


def incoming_file_name(partition_key: str) -> str:
    return partition_key.rsplit("@", 1)[0]


@dg.asset(group_name=ENTRANTES, kinds={"csv", "parquet"}, partitions_def=archivos_entrantes)
def ventas_entrantes(context: dg.AssetExecutionContext, sales_data: DataDirectory) -> Batches:
    """A sales file dropped into `data/incoming/`, checked and stored as parquet.

    The sensor `ventas_entrantes_sensor` requests one run per file; the file
    moves to `data/archive/` when that run succeeds, and stays where it is if
    it fails, for you to fix.
    """
    return _sales_file(context, sales_data.incoming / incoming_file_name(context.partition_key))
