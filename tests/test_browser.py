"""The UI as a person sees it: headless Chromium (Debian's) opens the ventas asset graph, and
OCR reads the screenshot for the asset names, their "Materialized" state and the checks."""

import re
import subprocess
from pathlib import Path

import pytest
from compose_stack import docker
from test_code_location import CHECKS, VENTAS

BROWSER_IMAGE = "ventas-test-browser"
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars", "--window-size=1800,1400"]


@pytest.fixture(scope="session")
def browser_image(docker_ready) -> str:
    docker("build", "--quiet", "--tag", BROWSER_IMAGE, str(Path(__file__).parent / "browser"))
    return BROWSER_IMAGE


def screenshot_text(stack, image: str, url: str, png: Path, budget_ms: int) -> str:
    """Screenshot `url` from inside the stack's network to `png`; return what OCR reads in it."""
    png.parent.chmod(0o777)  # the browser container writes as its own user
    script = (f"{' '.join(CHROMIUM)} --virtual-time-budget={budget_ms} "
              f"--screenshot=/out/{png.name} '{url}' >/dev/null 2>&1; "
              f"tesseract /out/{png.name} - 2>/dev/null")
    result = subprocess.run(
        ["docker", "run", "--rm", "--network", f"{stack.project}_dagster",
         "--volume", f"{png.parent}:/out", image, "sh", "-c", script],
        capture_output=True, text=True, timeout=180, check=True)
    return result.stdout


def shows(name: str, text: str) -> bool:
    """OCR may read an underscore as a space or drop it."""
    return re.search(name.replace("_", "[_ ]?"), text) is not None


def test_the_asset_graph_shows_the_ventas_assets_materialized(stack, browser_image, tmp_path):
    run = stack.wait_for_run(stack.launch(assets=VENTAS, checks=CHECKS))
    assert run["status"] == "SUCCESS"

    url = "http://webserver:3000/locations/ventas/asset-groups/ventas/lineage"
    png = tmp_path / "ventas-lineage.png"
    for budget in (15_000, 30_000, 60_000):  # more time if the page was still loading
        text = screenshot_text(stack, browser_image, url, png, budget)
        if all(shows(name, text) for name in VENTAS) and text.count("Materialized") >= 5:
            break
    print(f"screenshot: {png}")
    assert png.stat().st_size > 10_000
    missing = [name for name in VENTAS if not shows(name, text)]
    assert not missing, f"not on screen: {missing}\n--- OCR ---\n{text}"
    assert text.count("Materialized") >= len(VENTAS), text
    assert re.search(r"4\s*/\s*4 Passed", text), text
