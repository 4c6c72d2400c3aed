"""The informes code location: reports on the sales that the ventas location has processed.
Every definition under defs/, with where the data is."""

import os
from pathlib import Path

import dagster as dg

from informes.resources import Salidas


@dg.definitions
def defs() -> dg.Definitions:
    # The same data directory as the ventas location's: its outputs are this one's inputs.
    data_dir = os.environ.get("VENTAS_DATA_DIR", "").strip() or str(
        Path(__file__).resolve().parents[3] / "data"
    )
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(resources={"salidas": Salidas(data_dir=data_dir)}),
    )
