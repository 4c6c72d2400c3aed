import dagster as dg


@dg.asset
def legado() -> int:
    """Materialized by the earlier release: its run must survive the upgrade."""
    return 1


defs = dg.Definitions(assets=[legado])
