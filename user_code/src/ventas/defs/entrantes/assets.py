"""Sales files dropped into data/incoming/: one partition, and one run, per file."""

import dagster as dg

from locationkit.data import DataDirectory
from ventas.reading import sales_file
from ventas.tables import Batches

ENTRANTES = "entrantes"

# One partition per file dropped into data/incoming/: `<file name>@<first 8 hex of its SHA-256>`.
ARCHIVOS_ENTRANTES = "archivos_entrantes"
archivos_entrantes = dg.DynamicPartitionsDefinition(name=ARCHIVOS_ENTRANTES)


def incoming_file_name(partition_key: str) -> str:
    return partition_key.rsplit("@", 1)[0]


@dg.asset(group_name=ENTRANTES, kinds={"csv", "parquet"}, partitions_def=archivos_entrantes)
def ventas_entrantes(context: dg.AssetExecutionContext, data_dir: DataDirectory) -> Batches:
    """A sales file dropped into `data/incoming/`, checked and stored as parquet.

    The sensor `ventas_entrantes_sensor` requests one run per file; the file
    moves to `data/archive/` when that run succeeds, and stays where it is if
    it fails, for you to fix.
    """
    return sales_file(context, data_dir.incoming / incoming_file_name(context.partition_key))
