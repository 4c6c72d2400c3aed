"""The join, run on its own."""

import dagster as dg

from ventas.defs.clientes.assets import usuarios, ventas_completas

unir_clientes = dg.define_asset_job(
    "unir_clientes",
    selection=dg.AssetSelection.assets(usuarios, ventas_completas),
    description="Join the processed sales with the customers in usuarios.csv.",
)
