"""One incoming file's ingestion, started by the sensor."""

import dagster as dg

from ventas.defs.entrantes.assets import ventas_entrantes

ingerir_ventas = dg.define_asset_job(
    "ingerir_ventas",
    selection=dg.AssetSelection.assets(ventas_entrantes),
    description="Check and store one file from data/incoming/ (started by a sensor).",
)
