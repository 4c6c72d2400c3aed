"""The tutorial's op-based pipeline: plain steps wired by hand, with no assets.

Ops pass DataFrames in memory: nothing here is worth keeping after the run,
except what the last op logs.
"""

import dagster as dg
import duckdb
import pandas as pd

from locationkit.data import DataDirectory
from locationkit.failures import reported
from ventas import transforms
from ventas.csv import read_csv
from ventas.io_manager import IN_MEMORY
from ventas.schemas import VENTAS_COLUMNS


@dg.op(out=dg.Out(io_manager_key=IN_MEMORY))
def extraer_ventas(data_dir: DataDirectory) -> pd.DataFrame:
    """Read ventas.csv."""
    with reported():
        return read_csv(data_dir.file("ventas.csv"), VENTAS_COLUMNS)


@dg.op(out=dg.Out(io_manager_key=IN_MEMORY))
def calcular_totales(ventas: pd.DataFrame) -> pd.DataFrame:
    """Drop incomplete sales and add their totals."""
    with reported():
        return transforms.clean_sales(ventas)


@dg.op(out=dg.Out(io_manager_key=IN_MEMORY))
def resumir_por_categoria(context: dg.OpExecutionContext, ventas: pd.DataFrame) -> pd.DataFrame:
    """Total per category, written to the run's log."""
    resumen = transforms.total_by_category(duckdb.from_df(ventas)).df()
    context.log.info("Sales per category:\n" + resumen.to_markdown(index=False, floatfmt=",.2f"))
    context.add_output_metadata({"resumen": dg.MetadataValue.md(resumen.to_markdown(index=False))})
    return resumen


@dg.job(description="The op version of the pipeline: extract, total, summarize.")
def informe_ventas() -> None:
    resumir_por_categoria(calcular_totales(extraer_ventas()))
