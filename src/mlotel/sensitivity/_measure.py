"""The per-feature measures, from predictions already made on whole batches.

Shapes: ``n`` sampled rows, ``K`` grid points, ``c`` model outputs (all classes), ``m``
analysed outputs (the positive class of a binary classifier, one chosen output, or all).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BAND", "Perturbation", "Sweep", "perturbation", "sweep"]

#: Quantiles of the individual (ICE) curves drawn as the band around the partial dependence.
BAND = (0.1, 0.9)

# Centered curves whose mean square is below this share of the predictions' mean square are
# taken as "no effect": the interaction share of a feature the model ignores is undefined.
_NO_EFFECT = 1e-24


@dataclass(frozen=True)
class Perturbation:
    mean_abs_change: float
    p95_abs_change: float
    label_change_rate: float | None


@dataclass(frozen=True)
class Sweep:
    partial_dependence: np.ndarray  # (m, K)
    band_low: np.ndarray  # (m, K)
    band_high: np.ndarray  # (m, K)
    pd_range: float
    interaction: float


def perturbation(
    base: np.ndarray, perturbed: np.ndarray, selected: np.ndarray, probabilities: bool, chosen: bool
) -> Perturbation:
    """How far predictions move when the feature's column is permuted within the sample.

    Per row, the change is the total-variation distance between the two predicted class
    distributions (``sum |dp| / 2``; for a binary classifier this is ``|dp|`` of the positive
    class) for probabilities, unless one output was ``chosen``; else the mean ``|d|`` over the
    ``selected`` outputs. The label change rate (classifiers) is the share of rows whose
    arg-max class changes.
    """
    delta = perturbed - base
    if probabilities and not chosen:
        change = 0.5 * np.abs(delta).sum(axis=1)
    else:
        change = np.abs(delta[:, selected]).mean(axis=1)
    flips = None
    if probabilities:
        flips = float(np.mean(np.argmax(perturbed, axis=1) != np.argmax(base, axis=1)))
    return Perturbation(float(np.mean(change)), float(np.quantile(change, 0.95)), flips)


def sweep(predictions: np.ndarray) -> Sweep:
    """Partial dependence, ICE band and interaction share from ``(K, n, m)`` predictions.

    The interaction share is the part of the variance of the individual (ICE) curves, each
    centered on its own mean over the grid, that the centered partial-dependence curve does
    not explain: ``sum (c_ik - pd_k)^2 / sum c_ik^2``, in [0, 1]; 0 when every row's curve is
    parallel to the mean curve (an additive effect), near 1 when the feature's effect depends
    entirely on the other features. NaN when the feature has no effect at all.
    """
    k, n, m = predictions.shape
    pd = predictions.mean(axis=1)  # (K, m)
    centered = predictions - predictions.mean(axis=0, keepdims=True)
    pd_centered = pd - pd.mean(axis=0, keepdims=True)
    residual = centered - pd_centered[:, None, :]
    low, high = np.quantile(residual, BAND, axis=1)  # (K, m) each
    total = float(np.mean(centered**2))
    scale = float(np.mean(predictions**2))
    interaction = float(np.mean(residual**2)) / total if total > _NO_EFFECT * scale and total > 0 else np.nan
    pd_range = float(np.max(np.ptp(pd, axis=0))) if k else np.nan
    return Sweep(pd.T.copy(), (pd + low).T.copy(), (pd + high).T.copy(), pd_range, min(interaction, 1.0))
