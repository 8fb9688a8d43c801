"""Planning tests: make the shared small instances in `plan_fixtures` importable."""

from __future__ import annotations

import sys
from pathlib import Path

# The test tree has no packages; this directory holds `plan_fixtures.py`.
sys.path.insert(0, str(Path(__file__).resolve().parent))
