"""Where the project's files are: the checkout, or $DIGITNET_ROOT where the package is installed apart."""

import os
from pathlib import Path

ROOT = Path(os.environ.get("DIGITNET_ROOT") or Path(__file__).resolve().parents[1])
STATIC = ROOT / "static"
TEMPLATES = ROOT / "templates"
SHIPPED_WEIGHTS = ROOT / "weights" / "digitnet.npz"
