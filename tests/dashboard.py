"""The Grafana dashboard's queries as Prometheus takes them: every target of every panel, with
Grafana's variables replaced, for the unit tests (tests/deploy/test_dashboard.py) and for an
end-to-end test that asks a live Prometheus for each."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "monitoring" / "grafana-dashboard.json"

# What Grafana puts in place of its built-in variables, for an instant query: a range of four
# scrapes at Prometheus' usual 15 s interval, and an hour as the dashboard's time range.
BUILT_INS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}
# $name, ${name}, ${name:format} and the deprecated [[name]]; $1 is label_replace's, not Grafana's.
VARIABLE = re.compile(r"\$([A-Za-z_]\w*)|\$\{([A-Za-z_]\w*)(?::\w+)?\}|\[\[([A-Za-z_]\w*)\]\]")


def load(path: Path = DASHBOARD) -> dict:
    return json.loads(path.read_text())


def panels(dashboard: dict) -> Iterator[dict]:
    """Every panel, rows included, with those a collapsed row holds."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def defaults(dashboard: dict) -> dict[str, str]:
    """Each dashboard variable's default value, several joined as a regex alternation."""
    values = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        value = variable.get("current", {}).get("value", variable.get("query", ""))
        values[variable["name"]] = "|".join(value) if isinstance(value, list) else str(value)
    return values


def substituted(expr: str, values: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        name = next(group for group in match.groups() if group)
        if name not in values:
            raise ValueError(f"no value for ${name} in {expr!r}")
        return values[name]

    return VARIABLE.sub(value, expr)


def panel_queries(path: Path = DASHBOARD) -> list[tuple[str, str]]:
    """(panel title, expr) of every target, as Prometheus accepts it in an instant query."""
    dashboard = load(path)
    values = {**defaults(dashboard), **BUILT_INS}
    return [
        (panel["title"], substituted(target["expr"], values))
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
    ]
