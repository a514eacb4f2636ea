"""Old code against new in one process: a module imported from another checkout of the project."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType


def import_from(root: Path, module: str) -> ModuleType:
    """``module`` (e.g. ``"model.train"``) as the tree ``root`` has it. The project's modules loaded
    before (``app``, ``model``) are forgotten first, so each load is whole; the functions loaded keep
    their own modules' globals, so an old and a new load can run side by side."""
    for name in [n for n in sys.modules if n.split(".")[0] in ("app", "model")]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(root))
