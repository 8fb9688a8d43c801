"""Running the edge detectors over NAB files and scoring their alerts.

Each file is streamed through one `SignalMonitor`, exactly as the edge agent would see it;
an alert is a sample on which the signal goes from no detector raised to some detector
raised (one incident, however many detectors join it). Alerts are NAB detections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edge_agent.detectors import DetectorConfig, SignalMonitor
from flexfleet.nab.corpus import data_files, load_profiles, load_windows, window_rows
from flexfleet.nab.errors import CorpusError
from flexfleet.nab.scoring import STANDARD, FileScore, Profile, normalised, score_file
from flexfleet.nab.series import Series, read_series


@dataclass(frozen=True, slots=True)
class Trace:
    """Per-row detector output: the monitor's score and whether an alert was raised."""

    scores: tuple[float, ...]
    alert_rows: tuple[int, ...]


def run_detectors(series: Series, config: DetectorConfig, signal: str = "value") -> Trace:
    """Stream a series through one monitor; rows without a reading and rows it drops (time
    not advancing) score 0."""
    monitor = SignalMonitor(signal, config)
    scores: list[float] = []
    alerts: list[int] = []
    for row, (ts, value) in enumerate(zip(series.timestamps_ms, series.values, strict=True)):
        if value is None:
            scores.append(0.0)
            continue
        before = monitor.dropped_samples
        quiet = not monitor.alerting
        events = monitor.update(ts, value)
        scores.append(0.0 if monitor.dropped_samples != before else monitor.score)
        if quiet and any(event.state == "raised" for event in events):
            alerts.append(row)
    return Trace(tuple(scores), tuple(alerts))


@dataclass(frozen=True, slots=True)
class FileEvaluation:
    """The detectors' result on one NAB file under every profile.

    `latencies_s` gives, per window, the time from the window's start to the alert that
    counted (None when the window was missed).
    """

    name: str
    rows: int
    alerts: int
    scores: dict[str, FileScore]
    latencies_s: tuple[float | None, ...]


def evaluate_series(
    name: str,
    series: Series,
    windows_ms: list[tuple[int, int]],
    config: DetectorConfig,
    profiles: Sequence[Profile] = (STANDARD,),
) -> FileEvaluation:
    """Run the detectors over one series and score their alerts."""
    trace = run_detectors(series, config)
    windows = window_rows(series, windows_ms)
    scores = {p.name: score_file(len(series), windows, trace.alert_rows, p) for p in profiles}
    hits = next(iter(scores.values())).window_hits if scores else ()
    stamps = series.timestamps_ms
    latencies = tuple(
        None if hit is None else (stamps[hit] - stamps[left]) / 1000.0
        for (left, _), hit in zip(windows, hits, strict=True)
    )
    return FileEvaluation(name, len(series), len(trace.alert_rows), scores, latencies)


@dataclass(frozen=True, slots=True)
class CorpusEvaluation:
    """Per-file results and the corpus totals."""

    files: tuple[FileEvaluation, ...]
    profiles: tuple[Profile, ...]

    @property
    def windows(self) -> int:
        """Scored windows in the corpus."""
        return sum(next(iter(f.scores.values())).windows for f in self.files)

    def raw(self, profile: str = "standard") -> float:
        """Corpus raw score: the sum of the per-file scores."""
        return sum(f.scores[profile].score for f in self.files)

    def normalised(self, profile: str = "standard") -> float:
        """Corpus score normalised to null = 0, perfect = 100."""
        chosen = next(p for p in self.profiles if p.name == profile)
        return normalised(self.raw(profile), self.windows, chosen)


def evaluate_corpus(
    nab_dir: Path,
    config: DetectorConfig,
    *,
    files: Sequence[str] | None = None,
) -> CorpusEvaluation:
    """Evaluate the detectors on the NAB corpus (or on the named files of it)."""
    profiles = load_profiles(nab_dir)
    all_windows = load_windows(nab_dir)
    names = list(files) if files is not None else data_files(nab_dir)
    results = []
    for name in names:
        if name not in all_windows:
            raise CorpusError(name, "no label windows for this file")
        series = read_series(nab_dir / "data" / name)
        results.append(evaluate_series(name, series, all_windows[name], config, profiles))
    return CorpusEvaluation(tuple(results), tuple(profiles))
