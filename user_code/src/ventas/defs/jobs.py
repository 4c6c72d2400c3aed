from __future__ import annotations

import dagster as dg

from ventas.defs.assets import GROUP

procesar_ventas = dg.define_asset_job(
    "procesar_ventas",
    selection=dg.AssetSelection.groups(GROUP),
    description="Read ventas.csv, clean it and total it per category.",
)
