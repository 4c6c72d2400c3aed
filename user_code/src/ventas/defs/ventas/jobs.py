"""The tutorial's job: the sales pipeline, run together."""

import dagster as dg

from ventas.defs.ventas.assets import (
    ventas_por_categoria,
    ventas_por_dia,
    ventas_por_producto,
    ventas_procesadas,
    ventas_raw,
)

procesar_ventas = dg.define_asset_job(
    "procesar_ventas",
    selection=dg.AssetSelection.assets(
        ventas_raw, ventas_procesadas, ventas_por_categoria, ventas_por_producto, ventas_por_dia
    ),
    description="Read ventas.csv, check it, clean it and summarize it three ways.",
)
