"""A small multi-output neural network trained with numpy: the default forecast model.

One hidden ReLU layer shared by four heads: the mean of `y / level` (squared error) and
its 10/50/90 % quantiles (pinball loss). Inputs are standardised with the training
means and deviations, which travel with the weights into the ONNX graph. Trained with
Adam (Kingma & Ba, 2015) on shuffled mini-batches from a seeded generator, so the same
seed gives the same weights. The matrix products run on one BLAS thread: mini-batches
of 1,024 rows × 64 units are too small to split, and on a busy 2-core machine
OpenBLAS's waiting threads made an epoch over 400,000 rows take 11.4 s instead of 1.2 s.

Why a network and not only trees: onnxruntime's tree ensembles cost ~45 ns per tree per
row, and 10,000 series × 28 days × 4 boosters × 300 trees takes ~15 s, far from the
1 s serving goal; this network needs two small matrix products per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from coordinator.forecast.errors import DataError

QUANTILE_LEVELS = (0.1, 0.5, 0.9)
MAX_RATIO = 20.0


@dataclass(frozen=True)
class MlpWeights:
    """Standardisation and layer weights of a trained network (float32 arrays)."""

    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The network's raw outputs `[n, 4]` (mean, P10, P50, P90 of `y / level`)."""
        xs = (x.astype(np.float32) - self.mean) / self.scale
        hidden = np.maximum(xs @ self.w1 + self.b1, 0.0)
        return np.asarray(hidden @ self.w2 + self.b2, dtype=np.float32)


@dataclass(frozen=True)
class MlpConfig:
    """Network size and optimiser settings."""

    hidden_units: int = 32
    epochs: int = 6
    batch_rows: int = 1024
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0


def fit_mlp(
    x: np.ndarray,
    target: np.ndarray,
    config: MlpConfig,
    *,
    mse_weight: np.ndarray | None = None,
    pinball_weight: np.ndarray | None = None,
) -> MlpWeights:
    """Fit the network on feature rows `x` and targets `y / level` (clipped at MAX_RATIO).

    `mse_weight` weights each row's squared error (mean head), `pinball_weight` its
    pinball losses (quantile heads); both default to 1.
    """
    if x.ndim != 2 or len(x) != len(target) or len(x) == 0:
        raise DataError(f"need matching non-empty rows, got x {x.shape}, target {target.shape}")
    rng = np.random.default_rng(config.seed)
    x = x.astype(np.float32)
    r = np.clip(target, 0.0, MAX_RATIO).astype(np.float32)
    ones = np.ones(len(x), np.float32)
    w_sq = ones if mse_weight is None else np.asarray(mse_weight, np.float32)
    w_pin = ones if pinball_weight is None else np.asarray(pinball_weight, np.float32)
    if w_sq.shape != r.shape or w_pin.shape != r.shape:
        raise DataError("loss weights need one value per row")
    mean = x.mean(axis=0)
    scale = np.maximum(x.std(axis=0), 1e-6).astype(np.float32)
    xs = (x - mean) / scale
    n_in, n_hidden = x.shape[1], config.hidden_units
    params = [
        (rng.standard_normal((n_in, n_hidden)) * np.sqrt(2.0 / n_in)).astype(np.float32),
        np.zeros(n_hidden, np.float32),
        (rng.standard_normal((n_hidden, 4)) * np.sqrt(1.0 / n_hidden) * 0.1).astype(np.float32),
        np.array([np.average(r, weights=w_sq), *np.quantile(r, QUANTILE_LEVELS)], np.float32),
    ]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    q = np.array(QUANTILE_LEVELS, dtype=np.float32)
    step = 0
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(config.epochs):
            order = rng.permutation(len(xs))
            for start in range(0, len(order), config.batch_rows):
                idx = order[start : start + config.batch_rows]
                grads = _gradients(params, xs[idx], r[idx], q, w_sq[idx], w_pin[idx])
                step += 1
                for k, grad in enumerate(grads):
                    p = params[k]
                    g = grad + config.weight_decay * p if p.ndim == 2 else grad
                    first[k] = 0.9 * first[k] + 0.1 * g
                    second[k] = 0.999 * second[k] + 0.001 * g * g
                    m_hat = first[k] / (1 - 0.9**step)
                    v_hat = second[k] / (1 - 0.999**step)
                    params[k] = (p - config.learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(
                        np.float32
                    )
    return MlpWeights(mean, scale, params[0], params[1], params[2], params[3])


def average_networks(networks: list[MlpWeights]) -> MlpWeights:
    """One network whose outputs are the mean of `networks`' outputs (fitted on the same
    rows, so they share the standardisation): hidden layers side by side, output weights
    divided by their number. The ensemble exports and serves as one wider network."""
    if not networks:
        raise DataError("need at least one network to average")
    first = networks[0]
    for net in networks[1:]:
        if not (np.array_equal(net.mean, first.mean) and np.array_equal(net.scale, first.scale)):
            raise DataError("networks to average must share their input standardisation")
    k = np.float32(len(networks))
    return MlpWeights(
        first.mean,
        first.scale,
        np.concatenate([n.w1 for n in networks], axis=1),
        np.concatenate([n.b1 for n in networks]),
        (np.concatenate([n.w2 for n in networks], axis=0) / k).astype(np.float32),
        (np.sum([n.b2 for n in networks], axis=0) / k).astype(np.float32),
    )


def _gradients(
    params: list[np.ndarray],
    xb: np.ndarray,
    rb: np.ndarray,
    q: np.ndarray,
    w_sq: np.ndarray,
    w_pin: np.ndarray,
) -> list[np.ndarray]:
    w1, b1, w2, b2 = params
    pre = xb @ w1 + b1
    hidden = np.maximum(pre, 0.0)
    out = hidden @ w2 + b2
    d_out = np.empty_like(out)
    d_out[:, 0] = 2.0 * (out[:, 0] - rb) * w_sq  # squared error for the mean head
    under = (rb[:, None] < out[:, 1:]).astype(np.float32)
    d_out[:, 1:] = (under - q[None, :]) * w_pin[:, None]  # pinball loss, quantile heads
    d_out /= len(xb)
    d_hidden = (d_out @ w2.T) * (pre > 0)
    return [xb.T @ d_hidden, d_hidden.sum(axis=0), hidden.T @ d_out, d_out.sum(axis=0)]
