"""Numenta Anomaly Benchmark: the NAB scoring rules and the corpus evaluation of the edge detectors.

Evaluation code, not agent runtime: `scoring` is pure, `series` and `corpus` read files,
`evaluate` streams files through `edge_agent.detectors.SignalMonitor`.

Errors (see `flexfleet.nab.errors`)::

    NabError
    ├── SeriesError
    └── CorpusError
"""

from flexfleet.nab.errors import CorpusError, NabError, SeriesError
from flexfleet.nab.evaluate import CorpusEvaluation, FileEvaluation, evaluate_corpus, run_detectors
from flexfleet.nab.scoring import (
    PROFILES,
    REWARD_LOW_FN_RATE,
    REWARD_LOW_FP_RATE,
    STANDARD,
    FileScore,
    Profile,
    normalised,
    probationary_rows,
    scaled_sigmoid,
    score_file,
)
from flexfleet.nab.series import Series, read_series

__all__ = [
    "PROFILES",
    "REWARD_LOW_FN_RATE",
    "REWARD_LOW_FP_RATE",
    "STANDARD",
    "CorpusError",
    "CorpusEvaluation",
    "FileEvaluation",
    "FileScore",
    "NabError",
    "Profile",
    "Series",
    "SeriesError",
    "evaluate_corpus",
    "normalised",
    "probationary_rows",
    "read_series",
    "run_detectors",
    "scaled_sigmoid",
    "score_file",
]
