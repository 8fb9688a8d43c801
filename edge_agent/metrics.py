"""Agent metrics in the Prometheus text format, written to a file (node_exporter's
textfile collector picks it up), so the agent needs no HTTP server or extra library."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_HELP = {
    "dropped_messages": "Telemetry messages dropped by the outbox bounds (oldest first).",
    "dropped_samples": "Samples inside dropped telemetry messages.",
    "refused_messages": "Event/stock messages refused because the outbox hit its hard limit.",
    "produced_samples": "Samples put into telemetry messages since the outbox was created.",
    "outbox_bytes": "Payload bytes waiting in the outbox.",
}


def render(status: Mapping[str, int], *, site: str, node: str) -> str:
    """Every status counter as `flexfleet_agent_<name>{site=..,node=..} value`."""
    lines = []
    labels = f'{{site="{site}",node="{node}"}}'
    for name in sorted(status):
        metric = f"flexfleet_agent_{name}"
        if name in _HELP:
            lines.append(f"# HELP {metric} {_HELP[name]}")
        lines.append(f"{metric}{labels} {status[name]}")
    return "\n".join(lines) + "\n"


def write_textfile(path: Path, text: str) -> None:
    """Replace the file atomically (write beside it, then rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
