"""What the scenario run tests share: the small scenario and a run's JSON without its
wall-clock figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SMALL = str(Path(__file__).with_name("small.toml"))
WALL_CLOCK_KEYS = ("replan_p99_s",)  # measured in wall time: the only figures that vary


def stable_json(result: dict[str, Any]) -> str:
    """`result` as sorted JSON, leaving out what is measured in wall time."""
    data = dict(result)
    data.pop("wall_s")
    data["kpis"] = {k: v for k, v in result["kpis"].items() if k not in WALL_CLOCK_KEYS}
    return json.dumps(data, sort_keys=True)
