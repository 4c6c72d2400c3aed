"""The informes code location: reports on the sales that the ventas location has processed.
Every definition under defs/, with where the data is."""

from pathlib import Path

import dagster as dg

from locationkit.data import DataDirectory, data_dir_from


@dg.definitions
def defs() -> dg.Definitions:
    # The same data directory as the ventas location's: its outputs are this one's inputs.
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(resources={"data_dir": DataDirectory(path=data_dir_from())}),
    )
