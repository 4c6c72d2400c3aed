"""Asset jobs: which assets run together."""

import dagster as dg

from ventas.defs.assets import (
    usuarios,
    ventas_completas,
    ventas_diarias,
    ventas_entrantes,
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

unir_clientes = dg.define_asset_job(
    "unir_clientes",
    selection=dg.AssetSelection.assets(usuarios, ventas_completas),
    description="Join the processed sales with the customers in usuarios.csv.",
)

historico_diario = dg.define_asset_job(
    "historico_diario",
    selection=dg.AssetSelection.assets(ventas_diarias),
    description="One day of sales per partition.",
)

ingerir_ventas = dg.define_asset_job(
    "ingerir_ventas",
    selection=dg.AssetSelection.assets(ventas_entrantes),
    description="Check and store one file from data/incoming/ (started by a sensor).",
)
