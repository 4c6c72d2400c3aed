"""The customers, and each sale joined with its customer: two upstream assets passed to a
third as parameters, as the tutorial teaches joins."""

import dagster as dg
import pandas as pd

from locationkit.data import DataDirectory
from locationkit.failures import reported
from ventas import transforms
from ventas.csv import read_csv
from ventas.schemas import USUARIOS_COLUMNS
from ventas.tables import Batches, Table

CLIENTES = "clientes"


@dg.asset(group_name=CLIENTES, kinds={"csv", "pandas"})
def usuarios(data_dir: DataDirectory) -> pd.DataFrame:
    """The customers in `usuarios.csv`."""
    with reported():
        return read_csv(data_dir.file("usuarios.csv"), USUARIOS_COLUMNS)


@dg.asset(group_name=CLIENTES, kinds={"pandas", "parquet"})
def ventas_completas(ventas_procesadas: Table, usuarios: pd.DataFrame) -> Batches:
    """Each sale with its customer: the two upstream assets arrive as parameters."""
    return ventas_procesadas.map_batches(lambda ventas: transforms.join_users(ventas, usuarios))
