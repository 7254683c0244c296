"""Anomaly scoring (notebook 07): per-image scores (higher = more anomalous) and the ROC/AUROC that rate them.

The ROC maths is scikit-learn's; these wrappers check the inputs and speak tensors.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as _sk_roc_curve

from .checks import check_images, check_int, check_model
from .losses import RECONSTRUCTIONS, elbo_loss, reconstruction_loss
from .models import VAE, evaluating, model_device

def _check_scores(scores, is_anomaly) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``scores`` (N,) and ``is_anomaly`` (N,) and return them as NumPy float / bool arrays."""
    arrays = []
    for name, value in (("scores", scores), ("is_anomaly", is_anomaly)):
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        if not isinstance(value, (np.ndarray, list, tuple)):
            raise TypeError(f"{name} must be a tensor, array or list, got {type(value).__name__}")
        value = np.asarray(value)
        if value.ndim != 1 or value.size < 2:
            raise ValueError(f"{name} must be one-dimensional (N,) with N >= 2, got shape {value.shape}")
        arrays.append(value)
    s, y = arrays
    if len(s) != len(y):
        raise ValueError(f"scores and is_anomaly must have the same length, got {len(s)} and {len(y)}")
    if not np.issubdtype(s.dtype, np.number) or np.issubdtype(s.dtype, np.complexfloating):
        raise TypeError(f"scores must be real numbers, got dtype {s.dtype}")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite (no NaN or inf): a NaN score is a bug upstream")
    if y.dtype != bool:
        if not np.issubdtype(y.dtype, np.number) or not np.isin(y, (0, 1)).all():
            raise ValueError("is_anomaly must hold booleans or 0/1 values")
        y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError("is_anomaly must contain both normal (False/0) and anomalous (True/1) examples")
    return s.astype(np.float64), y


def auroc(scores, is_anomaly) -> float:
    """Area under the ROC curve of anomaly ``scores`` (N,) against labels ``is_anomaly`` (N,) (True = anomaly).

    Higher scores must mean "more anomalous". The AUROC equals the probability that a random anomaly
    scores higher than a random normal example (ties count one half): 1 is perfect, 0.5 is chance,
    below 0.5 means the score ranks the wrong way round. Accepts tensors, arrays or lists.

    First used in notebook 07.
    """

    s, y = _check_scores(scores, is_anomaly)
    return float(roc_auc_score(y, s))


def roc_curve(scores, is_anomaly) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve: ``(fpr, tpr, thresholds)``, NumPy arrays of equal length M.

    Flagging every example whose score is ``>= thresholds[i]`` as anomalous gives false-positive rate
    ``fpr[i]`` (share of normal examples flagged) and true-positive rate ``tpr[i]`` (share of anomalies
    caught). ``fpr`` and ``tpr`` rise from 0 to 1. Inputs as for ``auroc``.

    First used in notebook 07.
    """

    s, y = _check_scores(scores, is_anomaly)
    fpr, tpr, thresholds = _sk_roc_curve(y, s, drop_intermediate=False)
    return fpr, tpr, thresholds


def _check_model_images(model, images, batch_size) -> None:
    check_model("model", model)
    check_images(images)
    check_int("batch_size", batch_size, low=1)


def reconstruction_scores(model, images: torch.Tensor, kind: str = "mse", batch_size: int = 500) -> torch.Tensor:
    """Per-image reconstruction error, an anomaly score: ``(N, 1, 28, 28)`` -> ``(N,)`` on the CPU.

    An autoencoder (``model(x)`` returns logits) reconstructs ``x`` directly; a VAE (it has ``encode``
    returning ``(mu, logvar)``) decodes its mean code ``mu``, so the score is deterministic.
    ``kind`` is ``"mse"`` (squared error summed over pixels), ``"bce"`` (Bernoulli NLL, nats) or ``"l1"``.
    The model runs in ``eval`` mode; its training flag is restored.

    First used in notebook 07.
    """

    _check_model_images(model, images, batch_size)
    if kind not in RECONSTRUCTIONS:
        raise ValueError(f"kind must be one of {RECONSTRUCTIONS}, got {kind!r}")
    device = model_device(model)
    out = []
    with evaluating(model):
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            if isinstance(model, VAE):  # decode the mean code: a deterministic score
                logits = model.decode_logits(model.encode(x)[0])
            else:
                logits = model(x)
            out.append(reconstruction_loss(logits, x, kind, reduction="none").cpu())
    return torch.cat(out)


def nelbo_scores(
    model, images: torch.Tensor, samples: int = 1, batch_size: int = 500, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Per-image negative ELBO in nats, an anomaly score: ``(N, 1, 28, 28)`` -> ``(N,)`` on the CPU.

    ``-ELBO(x) = E_q[-log p(x|z)] + KL(q(z|x) || N(0, I))`` with the expectation estimated from
    ``samples`` draws z ~ q(z|x) (drawn on the CPU with ``generator``). Bernoulli decoder, beta = 1.
    Its mean over images matches ``vae_nelbo(...)["nelbo"]``; it upper-bounds ``-log p(x)``.

    First used in notebook 07.
    """

    if not isinstance(model, VAE):
        raise TypeError(f"model must be a course VAE (a models.VAE subclass), got {type(model).__name__}")
    _check_model_images(model, images, batch_size)
    check_int("samples", samples, low=1)
    device = model_device(model)
    out = []
    with evaluating(model):
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            mu, logvar = model.encode(x)
            total = torch.zeros(len(x), device=device)
            for _ in range(samples):
                z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=generator).to(device)
                total += elbo_loss(model.decode_logits(z), x, mu, logvar, reduction="none").loss
            out.append((total / samples).cpu())
    return torch.cat(out)


def nearest_neighbour_distance(images: torch.Tensor, reference: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Euclidean pixel distance from each image to its closest reference image: ``(N, ...)``, ``(M, ...)`` -> ``(N,)``.

    The no-learning baseline of notebook 07 (an anomaly is far from every normal training image) and the
    memorisation check of notebook 05 (a generator that copies its training set scores ~0). Computed in
    chunks of ``batch_size`` queries, so the full ``N x M`` distance matrix is never held at once.

    First used in notebook 07.
    """
    for name, t in (("images", images), ("reference", reference)):
        if not isinstance(t, torch.Tensor) or t.dim() < 2 or len(t) == 0:
            raise ValueError(f"{name} must be a non-empty tensor (N, ...), got {getattr(t, 'shape', type(t).__name__)}")
    if images[0].numel() != reference[0].numel():
        raise ValueError(f"images and reference must have the same image size, got {tuple(images.shape[1:])} and {tuple(reference.shape[1:])}")
    check_int("batch_size", batch_size, low=1)
    ref = reference.flatten(1).float()
    return torch.cat([torch.cdist(images[i : i + batch_size].flatten(1).float(), ref).min(1).values
                      for i in range(0, len(images), batch_size)])


def auroc_draws(scores, is_anomaly, indices: np.ndarray) -> np.ndarray:
    """The AUROC of ``scores[idx]`` against ``is_anomaly[idx]`` for every row ``idx`` of ``indices``.

    ``scores``, ``is_anomaly``: ``(N,)``; ``indices``: ``(R, M)`` resampled item indices, e.g. from
    ``intervals.bootstrap_indices`` stratified by label (so every row holds both classes). Returns ``(R,)``,
    from the rank-sum (Mann–Whitney) form with mid-ranks for ties, vectorised over the rows.

    First used in notebook 07.
    """
    s, y = _check_scores(scores, is_anomaly)
    indices = np.asarray(indices)
    if indices.ndim != 2 or indices.size == 0 or indices.min() < 0 or indices.max() >= len(s):
        raise ValueError(f"indices must be a (R, M) array of item indices in [0, {len(s) - 1}]")
    ys = y[indices].astype(bool)
    ranks = rankdata(s[indices], axis=1)
    n_anomaly = ys.sum(1)
    n_normal = ys.shape[1] - n_anomaly
    if (n_anomaly == 0).any() or (n_normal == 0).any():
        raise ValueError("every row of indices must hold normal and anomalous items (stratify the resampling)")
    return ((ranks * ys).sum(1) - n_anomaly * (n_anomaly + 1) / 2) / (n_anomaly * n_normal)


def mean_auroc_interval(runs, name: str, draws: np.ndarray, minus: str | None = None, level: float = 0.95):
    """The mean AUROC of score ``name`` over several runs (or its difference with score ``minus``), with a
    bootstrap interval over the scored images.

    ``runs``: a sequence of ``(scores, is_anomaly)`` pairs, one per run (a normal digit, a seed), where
    ``scores`` maps a score name to its ``(N,)`` scores and ``is_anomaly`` is ``(N,)``; every run scores the
    same ``N`` images. ``draws``: ``(R, N)`` resampled image indices (``intervals.bootstrap_indices``,
    stratified by digit), the same for every score, so a difference is paired image by image. The estimate is
    the mean over runs of the plain AUROCs; the interval is the ``level`` quantile range of that mean over the
    ``R`` resamples. Returns an ``intervals.Interval``.

    First used in notebook 07.
    """
    from .intervals import Interval

    runs = list(runs)
    if not runs:
        raise ValueError("runs must hold at least one (scores, is_anomaly) pair")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")

    def mean_of(score: str) -> tuple[float, np.ndarray]:
        estimate = float(np.mean([auroc(s[score], y) for s, y in runs]))
        return estimate, np.mean([auroc_draws(s[score], y, draws) for s, y in runs], axis=0)

    estimate, resampled = mean_of(name)
    if minus is not None:
        other, other_resampled = mean_of(minus)
        estimate, resampled = estimate - other, resampled - other_resampled
    low, high = np.quantile(resampled, [(1 - level) / 2, (1 + level) / 2])
    n = int(np.asarray(draws).shape[1])
    return Interval(estimate, float(low), float(high), level, f"bootstrap over {n} test images", n)
