"""The NAB corpus on disk: data files, label windows, profiles and published results.

Layout (Numenta Anomaly Benchmark): ``data/<category>/<file>.csv``,
``labels/combined_windows.json``, ``config/profiles.json`` and
``results/<detector>/<detector>_standard_scores.csv`` plus ``results/final_results.json``.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexfleet.nab.errors import CorpusError
from flexfleet.nab.scoring import PROFILES, Profile
from flexfleet.nab.series import Series, parse_timestamp_ms

_REPO_ROOT = Path(__file__).resolve().parents[2]


def default_nab_dir() -> Path:
    """`$FLEXFLEET_DATA/anomaly/nab`, or ``../shared/data/anomaly/nab`` beside the repository."""
    data = os.environ.get("FLEXFLEET_DATA")
    base = Path(data) if data else _REPO_ROOT.parent / "shared" / "data"
    return base / "anomaly" / "nab"


@dataclass(frozen=True, slots=True)
class PublishedScore:
    """One published detector's standard-profile result on one file."""

    detector: str
    threshold: float
    score: float
    tp: int
    tn: int
    fp: int
    fn: int


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CorpusError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorpusError(str(path), f"not valid JSON: {exc}") from exc


def data_files(nab_dir: Path) -> list[str]:
    """Relative names (``category/file.csv``) of every data file, sorted."""
    root = nab_dir / "data"
    if not root.is_dir():
        raise CorpusError(str(root), "no NAB data directory")
    return sorted(p.relative_to(root).as_posix() for p in root.glob("*/*.csv"))


def load_windows(nab_dir: Path) -> dict[str, list[tuple[int, int]]]:
    """Anomaly windows per file as (start_ms, end_ms) pairs."""
    path = nab_dir / "labels" / "combined_windows.json"
    raw = _json(path)
    if not isinstance(raw, dict):
        raise CorpusError(str(path), "expected an object of file -> windows")
    windows: dict[str, list[tuple[int, int]]] = {}
    for name, pairs in raw.items():
        try:
            windows[name] = [(parse_timestamp_ms(a), parse_timestamp_ms(b)) for a, b in pairs]
        except (TypeError, ValueError) as exc:
            raise CorpusError(str(path), f"bad window for {name}: {exc}") from exc
    return windows


def load_profiles(nab_dir: Path) -> tuple[Profile, ...]:
    """The scoring profiles of ``config/profiles.json`` (the built-in ones if absent)."""
    path = nab_dir / "config" / "profiles.json"
    if not path.exists():
        return PROFILES
    raw = _json(path)
    try:
        return tuple(
            Profile(
                name,
                float(body["CostMatrix"]["tpWeight"]),
                float(body["CostMatrix"]["fpWeight"]),
                float(body["CostMatrix"]["fnWeight"]),
            )
            for name, body in raw.items()
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise CorpusError(str(path), f"malformed profile: {exc}") from exc


def window_rows(series: Series, windows_ms: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Windows as inclusive row ranges: from the first row at/after the start to the row
    before the first later one past the end (windows holding no row are left out)."""
    stamps = series.timestamps_ms
    n = len(stamps)
    rows = []
    for start, end in windows_ms:
        left = next((i for i in range(n) if stamps[i] >= start), n)
        right = left
        while right < n and stamps[right] <= end:
            right += 1
        if right > left:
            rows.append((left, right - 1))
    return rows


def published_scores(nab_dir: Path) -> dict[str, dict[str, PublishedScore]]:
    """Published standard-profile results: detector -> file -> score."""
    results: dict[str, dict[str, PublishedScore]] = {}
    for path in sorted((nab_dir / "results").glob("*/*_standard_scores.csv")):
        detector = path.parent.name
        per_file: dict[str, PublishedScore] = {}
        try:
            with path.open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle):
                    if not row.get("File", "").endswith(".csv"):
                        continue  # the "Totals" row
                    per_file[row["File"]] = PublishedScore(
                        detector=detector,
                        threshold=float(row["Threshold"]),
                        score=float(row["Score"]),
                        tp=int(row["TP"]),
                        tn=int(row["TN"]),
                        fp=int(row["FP"]),
                        fn=int(row["FN"]),
                    )
        except (OSError, KeyError, ValueError, csv.Error) as exc:
            raise CorpusError(str(path), f"malformed scores file: {exc}") from exc
        results[detector] = per_file
    return results


def published_normalised(nab_dir: Path) -> dict[str, dict[str, float]]:
    """Published normalised corpus scores: detector -> profile -> score."""
    path = nab_dir / "results" / "final_results.json"
    if not path.exists():
        return {}
    raw = _json(path)
    if not isinstance(raw, dict):
        raise CorpusError(str(path), "expected an object")
    return {str(k): {str(p): float(s) for p, s in v.items()} for k, v in raw.items()}
