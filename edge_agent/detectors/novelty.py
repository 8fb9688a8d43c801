"""The novelty gate shared by the statistical detectors.

A detector's score only counts as a new incident when the excursion behind it (in the
signal's own units) beats `novelty_ratio` times the largest excursion of the recent past.
That peak halves every `peak_half_life_samples`. It learns freely during the last third
of the warm-up, calibrating to the signal's normal excursions; afterwards it grows at most
`PEAK_GROWTH` times at a time, so a big incident does not blind the detector to the next,
smaller one while a repeating incident still stops alarming after a round or two.

"At a time" is one sample for single-sample excursions (a spike, a step), and one incident
for the baseline's mean excursion over its last `sustained_samples` samples — which every
incident beats on many samples in a row, so a per-sample cap would let one long incident
raise it 3^k times. An incident is a run of samples beating a peak with gaps no longer than
the monitor's `clear_after_samples`, and the mean excursion's anchor is never below the
spike peak averaged over the ring (a usual spike is not a novel mean excursion). Spikes keep
the per-sample cap: on a signal that sat at an exact constant through the warm-up, the first
bursts must be able to lift a peak of almost zero to their own size.

Inside an incident the baseline's spike gate stays at the spike peak from before the
incident (the peak itself keeps learning): an excursion that deepens a little each sample
beats the running peak by less than the margin every time, so a gate that followed it
sample by sample would never let it through.
"""

from __future__ import annotations

PEAK_GROWTH = 3.0


def learning_starts(warmup_samples: int) -> int:
    """Sample count after which peaks are learnt (the estimates have settled by then)."""
    return max(2 * warmup_samples // 3, 30)


def raised_peak(peak: float, amount: float, *, free: bool, anchor: float) -> float:
    """The peak after seeing `amount`: unchanged if not beaten, else capped growth.

    `anchor` is the peak before the current incident began; the peak grows to at most
    `PEAK_GROWTH` times it (never shrinks), without limit when `free` or no anchor yet.
    """
    if amount <= peak:
        return peak
    if free or anchor <= 0.0:
        return amount
    limit = anchor * PEAK_GROWTH
    if limit <= peak:
        return peak
    return amount if amount < limit else limit


def gated(score: float, amount: float, gate: float, raise_score: float) -> float:
    """`score`, or less than `raise_score` when `amount` does not beat a positive `gate`.

    The reference definition: `BaselineDetector.step` inlines it, and so does
    `SignalMonitor.update` for the rate of change (both hot paths).
    """
    if gate > 0.0 and amount <= gate:
        limited = raise_score * amount / gate
        return limited if limited < score else score
    return score
