"""Text tables of a corpus evaluation beside the published NAB detectors."""

from __future__ import annotations

import statistics
from collections.abc import Mapping

from flexfleet.nab.corpus import PublishedScore
from flexfleet.nab.evaluate import CorpusEvaluation, FileEvaluation
from flexfleet.nab.scoring import normalised

#: Published detectors shown beside ours, in this order, when present.
COMPARED = ("numenta", "ARTime", "randomCutForest", "windowedGaussian")
_SHORT = {
    "numenta": "HTM",
    "ARTime": "ARTime",
    "randomCutForest": "RCF",
    "windowedGaussian": "WinGauss",
}


def _latency_text(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values) / 60:.0f}"


def _file_latencies(result: FileEvaluation) -> list[float]:
    return [lat for lat in result.latencies_s if lat is not None]


def file_table(
    evaluation: CorpusEvaluation, published: Mapping[str, Mapping[str, PublishedScore]]
) -> list[str]:
    """One line per file: windows hit, alerts, raw scores per profile, published raw scores."""
    shown = [d for d in COMPARED if d in published]
    names = [p.name for p in evaluation.profiles]
    head = f"{'file':58s} {'hit':>5s} {'alerts':>6s} {'lat_min':>7s} "
    head += " ".join(f"{n.removeprefix('reward_')[:12]:>12s}" for n in names)
    head += " " + " ".join(f"{_SHORT[d]:>8s}" for d in shown)
    lines = [head]
    for result in evaluation.files:
        first = result.scores[names[0]]
        hits = sum(hit is not None for hit in first.window_hits)
        line = f"{result.name[:58]:58s} {hits:>2d}/{first.windows:<2d} {result.alerts:>6d} "
        line += f"{_latency_text(_file_latencies(result)):>7s} "
        line += " ".join(f"{result.scores[n].score:>12.3f}" for n in names)
        for detector in shown:
            score = published[detector].get(result.name)
            line += f" {score.score:>8.3f}" if score is not None else f" {'-':>8s}"
        lines.append(line)
    return lines


def corpus_table(
    evaluation: CorpusEvaluation,
    published: Mapping[str, Mapping[str, PublishedScore]],
    published_normalised: Mapping[str, Mapping[str, float]],
) -> list[str]:
    """Corpus raw and normalised scores, ours first, then the published detectors'.

    Raw and normalised standard scores of the published detectors are recomputed from
    their per-file scores over the same files; their other profiles (from
    ``final_results.json``) are shown only when the whole corpus was evaluated.
    """
    names = [p.name for p in evaluation.profiles]
    others = [n for n in names if n != "standard"]
    standard = next(p for p in evaluation.profiles if p.name == "standard")
    files = {f.name for f in evaluation.files}
    whole = all(len(per_file) <= len(files) for per_file in published.values() if per_file)
    lines = [
        f"{'detector':18s} {'raw standard':>12s} {'standard':>9s} "
        + " ".join(f"{n:>20s}" for n in others)
    ]
    ours = " ".join(f"{evaluation.normalised(n):>20.2f}" for n in others)
    lines.append(
        f"{'flexfleet':18s} {evaluation.raw('standard'):>12.2f} "
        f"{evaluation.normalised('standard'):>9.2f} {ours}"
    )
    for detector, per_file in published.items():
        if detector == "null" or not files <= per_file.keys():
            continue
        raw = sum(per_file[name].score for name in files)
        norm = normalised(raw, evaluation.windows, standard)
        rest = " ".join(
            f"{published_normalised.get(detector, {}).get(n, float('nan')):>20.2f}"
            if whole
            else f"{'-':>20s}"
            for n in others
        )
        lines.append(f"{detector:18s} {raw:>12.2f} {norm:>9.2f} {rest}")
    latencies = [lat for f in evaluation.files for lat in _file_latencies(f)]
    lines.append(
        f"windows detected {len(latencies)}/{evaluation.windows}; alert latency from window "
        f"start: median {_latency_text(latencies)} min, mean "
        f"{(statistics.fmean(latencies) / 60 if latencies else 0):.0f} min"
    )
    return lines
