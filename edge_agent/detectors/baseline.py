"""Robust adaptive baseline: how far a sample sits from a slowly drifting level.

Level and spread are exponentially weighted estimates updated with outlier-clipped
deviations (a Huber-style M-estimate; the spread is a mean absolute deviation), so a spike
barely moves them while slow drift is followed. The score is the larger of the sample's
own robust z-score and the mean deviation of the last `sustained_samples` samples in
spreads times sqrt(sustained_samples) — both on the same scale for noise, the second
catching level shifts no single sample of which is extreme. Each part passes the novelty
gate (`edge_agent.detectors.novelty`) on its own excursion: |deviation| and |mean deviation|;
inside an incident the spike gate stays at the peak from before the incident.

A third part, the drift statistic, catches shifts too small for either score that persist
while the level catches up with them: Page's two-sided CUSUM of the deviation in spreads
(each sample clipped at `_CLIP_SPREADS` spreads) less `drift_allowance` spreads a sample,
so noise drains it and only a one-sided run fills it. It is updated once per block of
`sustained_samples` samples from the ring's sum (the clipped-off parts are kept aside), so
a sample pays two comparisons for it. It passes the novelty gate as the spike does (its peak
grows at most threefold a block; within an incident the gate stays at the peak from before
it) and raises once per incident, when it reaches `drift_limit` spreads and beats the gate:
after a run it drains by only `drift_allowance` a sample, so it must not hold an incident
open. It raises only on a run that began before the block (a shorter one is the mean
deviation's to report: measured block by block, its size would depend on where the block
boundaries fall, and a repeated short incident could beat its own gate by chance).

Beside the plain level runs a time-of-day model (additive Holt-Winters): a deseasonalised
level plus one offset per slot of the period (`season_slots` slots of a day by default,
O(season_slots) memory). The model learns on the first sample of each slot visit and then
at most `LEARNS_PER_SLOT` times per visit (a fast signal pays only for its residual), each
time with a weight proportional to the part of the slot elapsed since it last learnt, so a
slot's memory is `season_half_life_periods` periods whatever the sampling rate. Both models keep a robust spread of their residuals; once at least three
periods have been seen, the deviation scored is the time-of-day model's while its spread
is below `season_enter_ratio` times the plain one's (until it rises above
`season_leave_ratio` times it). A signal with a strong daily pattern is thus judged
against what is usual at that time of day — a day whose peak does not come is an anomaly —
while a signal without one keeps the plain level.
"""

from __future__ import annotations

import math
from collections import deque

from edge_agent.detectors.config import BaselineConfig
from edge_agent.detectors.novelty import learning_starts, raised_peak

# Deviations are clipped at this many spreads before updating the estimates.
_CLIP_SPREADS = 3.0
# Relative floor of the spread, so an almost-constant signal does not divide by zero.
_SPREAD_FLOOR_REL = 1e-9
_SPREAD_FLOOR_ABS = 1e-12
# Scores are capped so that running sums stay finite whatever the input.
MAX_SCORE = 1e6
# The first samples update level and spread as plain running means, unclipped.
_UNCLIPPED_SAMPLES = 30
# The time-of-day model is judged only after this many periods and residuals.
SEASON_MIN_PERIODS = 3
SEASON_MIN_RESIDUALS = 100
# The time-of-day model learns at most this many times per slot visit.
LEARNS_PER_SLOT = 16
# A time no sample reaches (floats compare with any int timestamp).
_NEVER_MS = math.inf


def half_life_alpha(half_life_samples: float) -> float:
    """EWMA weight whose influence halves after `half_life_samples` samples."""
    return 1.0 - math.pow(0.5, 1.0 / half_life_samples)


class BaselineDetector:
    """Streaming state of the robust baseline for one signal.

    Memory is O(sustained_samples + season_slots), time O(1) per sample.
    """

    __slots__ = (
        "_alpha_level",
        "_alpha_spread",
        "_anchor_drift",
        "_anchor_mean",
        "_anchor_peak",
        "_block_decay",
        "_clipped_off",
        "_drift_allowance",
        "_drift_armed",
        "_drift_beaten",
        "_drift_due",
        "_drift_limit",
        "_drift_raised_n",
        "_enter",
        "_g",
        "_g_dt",
        "_g_full",
        "_incident_gap",
        "_incident_until",
        "_k",
        "_last_beaten",
        "_learn_after",
        "_learn_every_ms",
        "_learnt_ms",
        "_leave",
        "_next_learn_ms",
        "_novelty",
        "_peak_decay",
        "_period_ms",
        "_raise_score",
        "_ring",
        "_ring_sum",
        "_season",
        "_season_due_ms",
        "_slot",
        "_slot_end_ms",
        "_slot_ms",
        "_slots",
        "_sqrt_k",
        "_warmup",
        "drift_down",
        "drift_up",
        "first_ts_ms",
        "level",
        "peak",
        "peak_drift",
        "peak_mean",
        "samples",
        "season_level",
        "season_on",
        "season_residuals",
        "season_spread",
        "spread",
    )

    def __init__(
        self, config: BaselineConfig, *, warmup_samples: int = 150, incident_gap_samples: int = 30
    ) -> None:
        self.level = 0.0
        self.spread = 0.0
        self.samples = 0
        self.peak = 0.0
        self.peak_mean = 0.0
        self.peak_drift = 0.0
        self.drift_up = 0.0
        self.drift_down = 0.0
        self.first_ts_ms = 0
        self._anchor_mean = 0.0
        self._anchor_peak = 0.0
        self._anchor_drift = 0.0
        self._drift_beaten = 0
        self._drift_armed = True
        self._drift_raised_n = 0
        self._incident_until = 0
        self._last_beaten = 0
        self._slots = -1
        self._period_ms = 0
        self.configure(
            config, warmup_samples=warmup_samples, incident_gap_samples=incident_gap_samples
        )

    def configure(
        self,
        config: BaselineConfig,
        *,
        warmup_samples: int = 150,
        incident_gap_samples: int = 30,
    ) -> None:
        """Apply new parameters, keeping the learnt level, spread and peaks.

        The time-of-day profile is kept too unless its slots or period change. Peaks
        beaten again within `incident_gap_samples` belong to the same incident.
        """
        self._incident_gap = incident_gap_samples
        self._alpha_level = half_life_alpha(config.level_half_life_samples)
        self._alpha_spread = half_life_alpha(config.spread_half_life_samples)
        self._novelty = config.novelty_ratio
        self._raise_score = config.raise_score
        self._peak_decay = 1.0 - half_life_alpha(config.peak_half_life_samples)
        self._block_decay = self._peak_decay**config.sustained_samples
        self._warmup = warmup_samples
        self._learn_after = learning_starts(warmup_samples)
        self._k = config.sustained_samples
        self._sqrt_k = math.sqrt(self._k)
        self._ring = deque([0.0] * self._k, maxlen=self._k)
        self._ring_sum = 0.0
        self._clipped_off = 0.0
        self._drift_due = self.samples + self._k  # blocks start afresh with the ring
        # an infinite allowance keeps the drift statistic at 0: off
        self._drift_limit = config.drift_limit
        self._drift_allowance = config.drift_allowance if config.drift_limit else math.inf
        slots = config.season_slots
        period_ms = round(config.season_period_s * 1000.0)
        if slots != self._slots or period_ms != self._period_ms:
            self._slots = slots
            self._period_ms = period_ms
            self._season = [math.nan] * slots
            self._slot = 0
            self._slot_end_ms = -(2**63)  # forces a slot look-up on the next sample
            self._next_learn_ms = -(2**63)
            self._learnt_ms = self.first_ts_ms
            self.season_level = self.level
            self.season_spread = 0.0
            self.season_residuals = 0
            self.season_on = False
        self._slot_ms = max(period_ms // slots, 1) if slots else 1
        self._set_season_due()
        self._learn_every_ms = max(self._slot_ms // LEARNS_PER_SLOT, 1)
        self._g_full = half_life_alpha(config.season_half_life_periods)
        self._g_dt = -1
        self._g = 0.0
        self._enter = config.season_enter_ratio
        self._leave = config.season_leave_ratio

    @property
    def expected(self) -> float:
        """The value the baseline expects now (at this time of day when that model is used)."""
        if self.season_on:
            return self.season_level + self._season[self._slot]
        return self.level

    @property
    def scale(self) -> float:
        """The spread the current deviation is measured in."""
        return self.season_spread if self.season_on else self.spread

    def _set_season_due(self) -> None:
        """When the time-of-day model next has work: learning or a new slot (never if off)."""
        due: float = min(self._next_learn_ms, self._slot_end_ms) if self._slots else _NEVER_MS
        self._season_due_ms = due

    def _enter_slot(self, ts_ms: int) -> None:
        index = ts_ms // self._slot_ms
        self._slot = index % self._slots
        self._slot_end_ms = (index + 1) * self._slot_ms

    def _slot_weight(self, elapsed_ms: int) -> float:
        """Offset update weight for a sample standing for `elapsed_ms` of its slot."""
        covered = elapsed_ms if elapsed_ms < self._slot_ms else self._slot_ms
        self._g_dt = elapsed_ms
        self._g = self._g_full * max(covered, 0) / self._slot_ms
        return self._g

    def _switch_model(self, *, seasonal: bool, ratio: float) -> None:
        """Use the other model from now on; peaks move to its scale of deviations."""
        self.season_on = seasonal
        self.peak *= ratio
        self.peak_mean *= ratio

    def _learn_season(
        self, x: float, ts_ms: int, floor: float, scale: float
    ) -> tuple[float, float]:
        """Update the time-of-day model with one sample; choose the model to score with.

        Returns the sample's residual from the time-of-day model and that model's spread,
        both as they stood before the update.
        """
        if ts_ms >= self._slot_end_ms:
            self._enter_slot(ts_ms)
        self._next_learn_ms = next_learn = ts_ms + self._learn_every_ms
        slot_end = self._slot_end_ms
        self._season_due_ms = next_learn if next_learn < slot_end else slot_end
        covered = ts_ms - self._learnt_ms
        self._learnt_ms = ts_ms
        season = self._season
        slot = self._slot
        offset = season[slot]
        s_level = self.season_level
        s_spread = self.season_spread
        s_scale = s_spread if s_spread > floor else floor
        s_dev = x - s_level - offset
        if offset != offset:  # noqa: PLR0124 (NaN: first visit, learn the offset only)
            season[slot] = x - s_level
            s_dev = 0.0
        else:
            self.season_residuals = m = self.season_residuals + 1
            if m <= _UNCLIPPED_SAMPLES:
                self.season_level = s_level + s_dev / m
                self.season_spread = s_spread + (abs(s_dev) - s_spread) / m
                s_clipped = s_dev
            else:
                limit = _CLIP_SPREADS * s_scale
                s_clipped = s_dev if -limit < s_dev < limit else math.copysign(limit, s_dev)
                self.season_level = s_level + self._alpha_level * s_clipped
                self.season_spread = s_spread + self._alpha_spread * (abs(s_clipped) - s_spread)
            g = self._g if covered == self._g_dt else self._slot_weight(covered)
            season[slot] = offset + g * s_clipped
        if self.season_on:
            if s_scale > self._leave * scale:
                self._switch_model(seasonal=False, ratio=scale / s_scale)
        elif (
            s_scale < self._enter * scale
            and self.season_residuals > SEASON_MIN_RESIDUALS
            and ts_ms - self.first_ts_ms >= SEASON_MIN_PERIODS * self._period_ms
        ):
            self._switch_model(seasonal=True, ratio=s_scale / scale)
        return s_dev, s_scale

    def _drift_block(self, block_sum: float, n: int) -> float:
        """Page's CUSUM step for a block of k samples summing to `block_sum` spreads.

        Returns the drift score: 0 unless the statistic raises on this block.
        """
        self._clipped_off = 0.0
        self._drift_due = n + self._k
        allowance = self._drift_allowance * self._k
        up0 = self.drift_up
        down0 = self.drift_down
        up = up0 + block_sum - allowance
        self.drift_up = up = up if up > 0.0 else 0.0
        down = down0 - block_sum - allowance
        self.drift_down = down = down if down > 0.0 else 0.0
        # the larger side, and whether its run began before this block
        drift, ongoing = (up, up0 > 0.0) if up > down else (down, down0 > 0.0)
        self.peak_drift = peak = self.peak_drift * self._block_decay
        if drift <= peak or n <= self._learn_after:
            return 0.0
        # a record: learnt like the spike peak (growth capped per block), gated at the
        # peak from before the incident, raising once per incident
        if n - self._drift_beaten > self._incident_gap:
            self._anchor_drift = peak
            self._drift_armed = True
        self._drift_beaten = n
        free = n <= self._warmup
        self.peak_drift = raised_peak(peak, drift, free=free, anchor=peak)
        limit = self._drift_limit
        if free or not (ongoing and self._drift_armed) or drift < limit:
            return 0.0
        if drift <= self._novelty * self._anchor_drift:
            return 0.0
        self._drift_armed = False
        self._drift_raised_n = n
        return self._raise_score * drift / limit

    def drift_raised(self) -> float:
        """The drift statistic (in spreads) if it raised on the last sample, else 0."""
        if self.samples != self._drift_raised_n:
            return 0.0
        return self.drift_up if self.drift_up > self.drift_down else self.drift_down

    def step(self, x: float, ts_ms: int) -> float:  # noqa: PLR0915
        """Learn from one finite sample taken at `ts_ms`.

        Returns its score in robust z units. Timestamps must increase.
        """
        self.samples = n = self.samples + 1
        level = self.level
        spread = self.spread
        dev = x - level
        abs_dev = abs(dev)
        floor = _SPREAD_FLOOR_REL * (level if level > 0.0 else -level) + _SPREAD_FLOOR_ABS
        scale = spread if spread > floor else floor
        if n > _UNCLIPPED_SAMPLES:
            # clipped updates: a spike moves level and spread by at most _CLIP_SPREADS spreads
            limit = _CLIP_SPREADS * scale
            if abs_dev < limit:
                self.level = level + self._alpha_level * dev
                self.spread = spread + self._alpha_spread * (abs_dev - spread)
            else:
                self.level = level + self._alpha_level * math.copysign(limit, dev)
                self.spread = spread + self._alpha_spread * (limit - spread)
        elif n == 1:
            self.level = x
            self.season_level = x
            self.first_ts_ms = ts_ms
            self._learnt_ms = ts_ms
            return 0.0
        else:
            # start-up: running means, so the estimates settle within a few samples
            self.level = level + dev / n
            self.spread = spread + (abs_dev - spread) / (n - 1)
        # time-of-day model: residual from the deseasonalised level plus the slot offset,
        # learnt on the first sample of each slot and then at most every
        # slot / LEARNS_PER_SLOT (more often adds nothing but cost on fast signals)
        if ts_ms >= self._season_due_ms:
            s_dev, s_scale = self._learn_season(x, ts_ms, floor, scale)
            if self.season_on:
                dev = s_dev
                abs_dev = abs(dev)
                scale = s_scale
        elif self.season_on:
            s_spread = self.season_spread
            scale = s_spread if s_spread > floor else floor
            dev = x - self.season_level - self._season[self._slot]
            abs_dev = abs(dev)
        spike = abs_dev / scale
        # running sum of the last k signed deviations (appending drops the oldest)
        ring = self._ring
        self._ring_sum = ring_sum = self._ring_sum + (dev - ring[0])
        ring.append(dev)
        k = self._k
        mean_dev = abs(ring_sum) / k
        sustained = mean_dev * self._sqrt_k / scale
        if spike > _CLIP_SPREADS:
            # the drift statistic sums deviations clipped at _CLIP_SPREADS spreads
            limit = _CLIP_SPREADS * scale
            self._clipped_off += dev - limit if dev > 0.0 else dev + limit
        # novelty gates (see edge_agent.detectors.novelty); raised_peak is called only
        # when a peak is beaten, which keeps the common path cheap
        decay = self._peak_decay
        self.peak = peak = self.peak * decay
        self.peak_mean = peak_mean = self.peak_mean * decay
        if (abs_dev > peak or mean_dev > peak_mean) and n > self._learn_after:
            if n - self._last_beaten > self._incident_gap:
                # a new incident: the mean excursion's growth is capped relative to the
                # peak before it, which is never below what a usual spike (the spike
                # peak) averages to over the ring; a spike's growth is capped per sample
                self._anchor_mean = max(peak_mean, peak / k)
                self._anchor_peak = peak
            self._last_beaten = n
            free = n <= self._warmup
            if not free:
                self._incident_until = n + self._incident_gap
            self.peak = raised_peak(peak, abs_dev, free=free, anchor=peak)
            self.peak_mean = raised_peak(peak_mean, mean_dev, free=free, anchor=self._anchor_mean)
        if n <= self._incident_until:
            # inside an incident the spike gate stays at the peak from before it, so an
            # excursion that creeps up sample by sample cannot carry its own gate along
            anchor = self._anchor_peak
            peak = anchor if anchor < peak else peak
        # the gates, as `novelty.gated` computes them, inlined: they apply on most samples
        novelty = self._novelty
        gate = novelty * peak
        if gate > 0.0 and abs_dev <= gate:
            limited = self._raise_score * abs_dev / gate
            spike = limited if limited < spike else spike
        gate = novelty * peak_mean
        if gate > 0.0 and mean_dev <= gate:
            limited = self._raise_score * mean_dev / gate
            sustained = limited if limited < sustained else sustained
        score = spike if spike > sustained else sustained
        if n >= self._drift_due:
            drifting = self._drift_block((ring_sum - self._clipped_off) / scale, n)
            score = drifting if drifting > score else score
        return score if score < MAX_SCORE else MAX_SCORE
