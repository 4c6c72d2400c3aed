"""The plataforma code location: what watches every location, whichever of them is broken or
redeployed. Today the alerts on failed runs (defs/alertas/); tomorrow, whatever else serves the
whole stack. Its settings (the DAGSTER_ALERT_* variables) reach only its own service."""

from pathlib import Path

import dagster as dg

from plataforma.settings import Settings


@dg.definitions
def defs() -> dg.Definitions:
    # Read here first: a bad setting is then the load error itself, naming the variable, not
    # wrapped in the error of the defs/ module that reads it again.
    Settings.from_env()
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
