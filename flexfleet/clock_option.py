"""`--clock-speed` / `--clock-origin`: run a process on a simulated clock shared with others.

The demo starts its coordinator and every agent with the same two values, so all of them
date reports, plans, promises and deliveries on one simulated calendar
(`fleet_runtime.clock.ScaledClock`) running `speed` times faster than wall time.
"""

from __future__ import annotations

import argparse

from fleet_runtime.clock import MAX_SPEED, Clock, ScaledClock


def add_clock_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulated clock's two options."""
    parser.add_argument(
        "--clock-speed",
        type=float,
        default=None,
        help=f"simulated seconds per wall second (0 < S <= {MAX_SPEED:g}; default: wall time)",
    )
    parser.add_argument(
        "--clock-origin",
        type=float,
        default=None,
        help="Unix time at which the simulated clock reads wall time (with --clock-speed)",
    )


def clock_from(args: argparse.Namespace) -> Clock | None:
    """The simulated clock the options ask for (None: wall time); `ValueError` when they
    are out of range or one is given without the other."""
    speed, origin = args.clock_speed, args.clock_origin
    if speed is None and origin is None:
        return None
    if speed is None or origin is None:
        raise ValueError("--clock-speed and --clock-origin go together")
    return ScaledClock(speed=speed, origin_s=origin)


__all__ = ["add_clock_arguments", "clock_from"]
