"""Import a bench script (bench/ is not a package) the way `python bench/NAME.py` sees its siblings."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))       # the scripts import their _helpers by name
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # its functions pickle by name (the judge's process pool)
    spec.loader.exec_module(module)
    return module
