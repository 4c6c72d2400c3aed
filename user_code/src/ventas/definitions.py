"""The ventas code location: every definition under defs/, by domain, with what the whole
project shares (where the data is, how outputs are stored, how runs execute)."""

from pathlib import Path

import dagster as dg

from locationkit.data import DataDirectory
from ventas.io_manager import IN_MEMORY, ParquetIOManager
from ventas.settings import Settings


@dg.definitions
def defs() -> dg.Definitions:
    data_dir = Settings.from_env().data_dir
    project = dg.Definitions(
        resources={
            "data_dir": DataDirectory(path=data_dir),
            "io_manager": ParquetIOManager(base_dir=data_dir),
            IN_MEMORY: dg.InMemoryIOManager(),
        },
        # Every step of a run in one process: no second or more of interpreter and import
        # start-up per step, and batches stream through one memory budget.
        executor=dg.in_process_executor,
    )
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent), project
    )
