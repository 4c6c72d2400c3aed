"""The project's Python scripts (scripts/), imported as modules to test their parts."""

import importlib.util
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def upgrade_script(root: Path = REPO) -> ModuleType:
    """scripts/upgrade of the checkout at `root` (which it then works on)."""
    path = root / "scripts" / "upgrade"
    loader = SourceFileLoader(f"upgrade_{abs(hash(root))}", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
