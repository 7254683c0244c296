"""Numbers the course reports: PSNR, and a small MNIST classifier used as a measuring instrument."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as _sk_roc_curve

from . import config
from .data import load_mnist
from .losses import RECONSTRUCTIONS, elbo_loss, reconstruction_loss
from .models import VAE, MNISTClassifier
from .train import fingerprint, fit, load_or_train


def _check_images(images: torch.Tensor, name: str = "images") -> None:
    """``images`` must be a ``(N, 1, 28, 28)`` tensor, N >= 1, with values in [0, 1] and no NaN."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(images).__name__}")
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28) or len(images) == 0:
        raise ValueError(f"{name} must have shape (N, 1, 28, 28) with N >= 1, got {tuple(images.shape)}")
    if images.isnan().any() or images.min() < 0 or images.max() > 1:
        raise ValueError(f"{name} must hold pixel values in [0, 1], without NaN")


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")


def psnr(estimate: torch.Tensor, target: torch.Tensor, max_value: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image: ``10 log10(max² / MSE)``.

    ``estimate``, ``target``: ``(B, ...)`` of the same shape. Returns ``(B,)``; an exact match gives ``inf``.
    Average PSNRs over images with ``.mean()`` only after checking for ``inf`` (``finite_mean`` helps).
    """
    if estimate.shape != target.shape:
        raise ValueError(f"estimate and target must have the same shape, got {tuple(estimate.shape)} and {tuple(target.shape)}")
    if estimate.dim() < 2:
        raise ValueError(f"expected a batch (B, ...), got shape {tuple(estimate.shape)}")
    if not max_value > 0:
        raise ValueError(f"max_value must be > 0, got {max_value}")
    mse = (estimate.float() - target.float()).pow(2).flatten(1).mean(1)
    return 10.0 * torch.log10(max_value**2 / mse)  # mse == 0 -> +inf, on purpose


CLASSIFIER_SETTINGS = {"arch": "MNISTClassifier-v1", "epochs_full": 8, "epochs_fast": 2, "lr": 1e-3, "seed": 0}


def mnist_classifier(device: torch.device | str | None = None, progress: bool = True) -> MNISTClassifier:
    """The course's digit classifier, trained once on the MNIST train split and cached.

    Used to *measure* generated digits (accuracy/confidence on samples, Fréchet distance on its
    128-d features), so every notebook uses the same instrument. Returned in ``eval`` mode.
    """
    device = torch.device(device) if device is not None else config.device()
    x, y = load_mnist(train=True, limit=config.pick(None, 2000))
    model = MNISTClassifier()
    settings = dict(CLASSIFIER_SETTINGS, fast=config.FAST, data=fingerprint(x, y))

    def train():
        gen = torch.Generator().manual_seed(CLASSIFIER_SETTINGS["seed"])
        torch.manual_seed(CLASSIFIER_SETTINGS["seed"])
        return fit(
            model, lambda m, b: F.cross_entropy(m(b[0]), b[1]), (x, y),
            epochs=config.epochs(CLASSIFIER_SETTINGS["epochs_full"], CLASSIFIER_SETTINGS["epochs_fast"]),
            lr=CLASSIFIER_SETTINGS["lr"], device=device, generator=gen, desc="digit classifier", progress=progress,
        )

    load_or_train("mnist_classifier", model, settings, train)
    return model.to(device).eval()


@torch.no_grad()
def classify(classifier: torch.nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Class probabilities ``(B, 10)`` for images ``(B, 1, 28, 28)`` in [0, 1]."""
    device = next(classifier.parameters()).device
    out = [F.softmax(classifier(images[i : i + batch_size].to(device)), 1).cpu() for i in range(0, len(images), batch_size)]
    return torch.cat(out)


# --- sample quality
# Measures of a trained VAE and of its samples. Each one favours something: the docstrings say what.


def _check_codes_matrix(name: str, mu: torch.Tensor) -> None:
    if not isinstance(mu, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(mu).__name__}")
    if mu.dim() != 2 or mu.shape[0] < 2:
        raise ValueError(f"{name} must have shape (N, D) with N >= 2, got {tuple(mu.shape)}")


def latent_activity(mu: torch.Tensor) -> torch.Tensor:
    """Per-dimension activity ``A_d = Var_x( E_q[z_d | x] )`` (Burda et al., 2016).

    ``mu``: ``(N, D)`` encoder means of N data points. Returns ``(D,)`` variances over the data
    (unbiased, ``N - 1`` in the denominator). A dimension whose mean does not move with the input
    carries no information about it: the decoder cannot use it.
    """
    _check_codes_matrix("mu", mu)
    return mu.detach().float().var(0, unbiased=True).cpu()


def active_dims(mu: torch.Tensor, threshold: float = 0.01) -> int:
    """Number of *active* latent dimensions: those whose ``latent_activity`` exceeds ``threshold``.

    ``mu``: ``(N, D)`` encoder means; ``threshold`` > 0 (Burda et al. use 0.01). With the prior
    N(0, 1), an active dimension's means spread over the data; a collapsed one sits at ~0 for every x.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold > 0:
        raise ValueError(f"threshold must be a number > 0, got {threshold!r}")
    return int((latent_activity(mu) > threshold).sum())


# --- denoising
# PSNR bookkeeping for notebook 06: per-image PSNRs can be +inf (a perfect copy), so averages need care.


def finite_mean(values: torch.Tensor) -> float:
    """Mean of the finite entries of ``values`` ``(N,)`` (e.g. per-image PSNRs), skipping ``+inf``.

    A perfect reconstruction has PSNR = +inf; one such image would make the plain mean infinite.
    Raises ``ValueError`` on NaN (a bug upstream, never a result) or when no entry is finite.
    """
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"values must be a tensor, got {type(values).__name__}")
    values = values.detach().double().flatten()
    if values.isnan().any():
        raise ValueError("values must not contain NaN")
    finite = values[torch.isfinite(values)]
    if finite.numel() == 0:
        raise ValueError(f"values must have at least one finite entry, got {values.numel()} non-finite ones")
    return float(finite.mean())


def mean_psnr(estimate: torch.Tensor, target: torch.Tensor, max_value: float = 1.0) -> float:
    """Average over images of ``psnr(estimate, target)`` in dB, skipping exact copies (``+inf``).

    ``estimate``, ``target``: ``(B, ...)`` of the same shape, values on the scale of ``max_value``.
    This is the convention of denoising papers (mean of per-image PSNRs, not PSNR of the mean MSE).
    """
    return finite_mean(psnr(estimate, target, max_value))


def sharpness(images: torch.Tensor) -> torch.Tensor:
    """Mean gradient magnitude per image: ``(B, 1, H, W)`` -> ``(B,)``.

    Finite differences ``dx``, ``dy`` between neighbouring pixels, ``sqrt(dx² + dy²)`` averaged over the
    image. Blurry images score low. It favours *any* high-frequency content, noise included, so compare
    it with the value for real digits rather than reading "higher is better".
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a tensor, got {type(images).__name__}")
    if images.dim() != 4 or images.shape[1] != 1 or min(images.shape[2:]) < 2 or len(images) == 0:
        raise ValueError(f"images must have shape (B, 1, H, W) with B >= 1 and H, W >= 2, got {tuple(images.shape)}")
    img = images.detach().float()[:, 0]
    dx = img[:, :-1, 1:] - img[:, :-1, :-1]
    dy = img[:, 1:, :-1] - img[:, :-1, :-1]
    return (dx.pow(2) + dy.pow(2)).sqrt().flatten(1).mean(1).cpu()


def _class_fractions(probs: torch.Tensor) -> torch.Tensor:
    """Fraction of images assigned to each class (arg-max of ``probs`` ``(B, K)``): ``(K,)``, sums to 1."""
    if not isinstance(probs, torch.Tensor):
        raise TypeError(f"probs must be a tensor, got {type(probs).__name__}")
    if probs.dim() != 2 or len(probs) == 0:
        raise ValueError(f"probs must have shape (B, K) with B >= 1, got {tuple(probs.shape)}")
    counts = torch.bincount(probs.argmax(1).cpu(), minlength=probs.shape[1]).float()
    return counts / counts.sum()


def sample_quality(classifier: torch.nn.Module, samples: torch.Tensor, confident: float = 0.9) -> dict:
    """What the digit classifier makes of generated ``samples`` ``(B, 1, 28, 28)`` in [0, 1].

    Returns a dict:
      * ``confidence``: mean max-probability (high when samples look like *some* digit clearly;
        it favours clean, prototypical digits and would reward a model that draws one perfect digit).
      * ``confident_fraction``: share of samples with max-probability above ``confident``.
      * ``class_entropy``: entropy (nats) of the predicted-class histogram; ``log 10 ≈ 2.303`` when every
        digit is equally frequent, 0 when all samples are one class (it rewards diversity, not quality).
      * ``class_histogram``: the ``(10,)`` histogram itself.
    """
    if not isinstance(samples, torch.Tensor) or samples.dim() != 4 or samples.shape[1:] != (1, 28, 28):
        shape = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
        raise ValueError(f"samples must be a tensor of shape (B, 1, 28, 28), got {shape}")
    if len(samples) == 0:
        raise ValueError("samples must hold at least one image")
    if isinstance(confident, bool) or not isinstance(confident, (int, float)) or not 0 < confident < 1:
        raise ValueError(f"confident must be a number in (0, 1), got {confident!r}")
    probs = classify(classifier, samples)
    top = probs.max(1).values
    hist = _class_fractions(probs)
    nonzero = hist[hist > 0]
    return {
        "confidence": float(top.mean()),
        "confident_fraction": float((top > confident).float().mean()),
        "class_entropy": float((nonzero * (1 / nonzero).log()).sum()),  # written so one class gives +0.0
        "class_histogram": hist,
    }


# --- VAE likelihoods
# Test-set numbers for a VAE with a Bernoulli decoder, in nats per image: the -ELBO (an upper bound on
# -log p(x)) and the importance-sampled estimate of log p(x) that tightens it (Burda et al., 2016).


def _check_vae_inputs(model, images, batch_size) -> None:
    for attr in ("encode", "decode_logits", "latent_dim"):
        if not hasattr(model, attr):
            raise TypeError(f"model must be a course VAE (encode, decode_logits, latent_dim); it has no {attr!r}")
    _check_images(images)
    _check_batch_size(batch_size)


def _device_of(model) -> torch.device:
    params = list(model.parameters())
    return params[0].device if params else torch.device("cpu")


@torch.no_grad()
def vae_nelbo(
    model, images: torch.Tensor, batch_size: int = 500, generator: torch.Generator | None = None
) -> dict[str, float]:
    """The negative ELBO of a VAE on ``images``, in nats per image, with its two parts.

    ``images``: ``(N, 1, 28, 28)`` in [0, 1]. The model runs in ``eval`` mode without gradients;
    its training flag is restored. One z ~ q(z|x) per image (drawn with ``generator``, on the CPU,
    so the number is reproducible), Bernoulli (BCE) reconstruction, beta = 1.

    Returns ``{"nelbo": reconstruction + kl, "reconstruction": E_q[-log p(x|z)], "kl": KL(q(z|x) || N(0, I))}``,
    each averaged over the N images. ``nelbo`` is an upper bound on ``-log p(x)``.
    """
    _check_vae_inputs(model, images, batch_size)
    device, was_training = _device_of(model), model.training
    model.eval()
    sums = {"nelbo": 0.0, "reconstruction": 0.0, "kl": 0.0}
    try:
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            mu, logvar = model.encode(x)
            eps = torch.randn(mu.shape, generator=generator).to(device)
            z = mu + torch.exp(0.5 * logvar) * eps
            terms = elbo_loss(model.decode_logits(z), x, mu, logvar, reduction="sum")
            for key, value in zip(("nelbo", "reconstruction", "kl"), terms):
                sums[key] += float(value)
    finally:
        model.train(was_training)
    return {key: total / len(images) for key, total in sums.items()}


def _log_normal_diag(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


@torch.no_grad()
def importance_log_likelihood(
    model,
    images: torch.Tensor,
    k: int = 100,
    batch_size: int = 100,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Importance-sampled estimate of log p(x) per image, with q(z|x) as the proposal.

    ``log p(x) ≈ logsumexp_j [log p(x|z_j) + log p(z_j) − log q(z_j|x)] − log k``, z_1..z_k ~ q(z|x).
    For k = 1 its expectation is the ELBO; it rises towards log p(x) as k grows (and never exceeds it
    in expectation). Bernoulli decoder (BCE), standard-normal prior.

    Args:
        model: a course VAE (``encode`` -> (mu, logvar), ``decode_logits``).
        images: ``(N, 1, 28, 28)`` in [0, 1].
        k: importance samples per image, int >= 1.
        batch_size: images per chunk (memory grows as ``batch_size * k * 784``).
        generator: seeded ``torch.Generator`` for the draws (on the CPU), for reproducible numbers.

    Returns:
        ``(N,)`` float tensor on the CPU: log p(x) estimates in nats (negative numbers; −mean is
        comparable with ``vae_nelbo(...)["nelbo"]`` and lower than it).
    """
    _check_vae_inputs(model, images, batch_size)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    device, was_training = _device_of(model), model.training
    model.eval()
    out = []
    try:
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            b = len(x)
            mu, logvar = model.encode(x)                                      # (b, D)
            eps = torch.randn((k, *mu.shape), generator=generator).to(device)  # (k, b, D)
            z = mu + torch.exp(0.5 * logvar) * eps
            logits = model.decode_logits(z.reshape(k * b, -1)).view(k, b, -1)
            target = x.reshape(1, b, -1).expand(k, b, -1)
            log_px_z = -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)
            log_pz = _log_normal_diag(z, torch.zeros_like(z), torch.zeros_like(z))
            log_qz = _log_normal_diag(z, mu, logvar)
            log_w = log_px_z + log_pz - log_qz                                # (k, b)
            out.append((torch.logsumexp(log_w, 0) - math.log(k)).cpu())
    finally:
        model.train(was_training)
    return torch.cat(out)


# --- anomaly detection
# Per-image anomaly scores (higher = more anomalous) and the ROC/AUROC that rate them, for notebook 07.
# The ROC maths is scikit-learn's; these wrappers check the inputs and speak tensors.


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
    """

    s, y = _check_scores(scores, is_anomaly)
    return float(roc_auc_score(y, s))


def roc_curve(scores, is_anomaly) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve: ``(fpr, tpr, thresholds)``, NumPy arrays of equal length M.

    Flagging every example whose score is ``>= thresholds[i]`` as anomalous gives false-positive rate
    ``fpr[i]`` (share of normal examples flagged) and true-positive rate ``tpr[i]`` (share of anomalies
    caught). ``fpr`` and ``tpr`` rise from 0 to 1. Inputs as for ``auroc``.
    """

    s, y = _check_scores(scores, is_anomaly)
    fpr, tpr, thresholds = _sk_roc_curve(y, s, drop_intermediate=False)
    return fpr, tpr, thresholds


def _check_model_images(model, images, batch_size) -> None:
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_images(images)
    _check_batch_size(batch_size)


@torch.no_grad()
def reconstruction_scores(model, images: torch.Tensor, kind: str = "mse", batch_size: int = 500) -> torch.Tensor:
    """Per-image reconstruction error, an anomaly score: ``(N, 1, 28, 28)`` -> ``(N,)`` on the CPU.

    An autoencoder (``model(x)`` returns logits) reconstructs ``x`` directly; a VAE (it has ``encode``
    returning ``(mu, logvar)``) decodes its mean code ``mu``, so the score is deterministic.
    ``kind`` is ``"mse"`` (squared error summed over pixels), ``"bce"`` (Bernoulli NLL, nats) or ``"l1"``.
    The model runs in ``eval`` mode; its training flag is restored.
    """

    _check_model_images(model, images, batch_size)
    if kind not in RECONSTRUCTIONS:
        raise ValueError(f"kind must be one of {RECONSTRUCTIONS}, got {kind!r}")
    device, was_training = _device_of(model), model.training
    model.eval()
    out = []
    try:
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            if isinstance(model, VAE):  # decode the mean code: a deterministic score
                logits = model.decode_logits(model.encode(x)[0])
            else:
                logits = model(x)
            out.append(reconstruction_loss(logits, x, kind, reduction="none").cpu())
    finally:
        model.train(was_training)
    return torch.cat(out)


@torch.no_grad()
def nelbo_scores(
    model, images: torch.Tensor, samples: int = 1, batch_size: int = 500, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Per-image negative ELBO in nats, an anomaly score: ``(N, 1, 28, 28)`` -> ``(N,)`` on the CPU.

    ``-ELBO(x) = E_q[-log p(x|z)] + KL(q(z|x) || N(0, I))`` with the expectation estimated from
    ``samples`` draws z ~ q(z|x) (drawn on the CPU with ``generator``). Bernoulli decoder, beta = 1.
    Its mean over images matches ``vae_nelbo(...)["nelbo"]``; it upper-bounds ``-log p(x)``.
    """

    if not isinstance(model, VAE):
        raise TypeError(f"model must be a course VAE (a models.VAE subclass), got {type(model).__name__}")
    _check_vae_inputs(model, images, batch_size)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be an int >= 1, got {samples!r}")
    device, was_training = _device_of(model), model.training
    model.eval()
    out = []
    try:
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            mu, logvar = model.encode(x)
            total = torch.zeros(len(x), device=device)
            for _ in range(samples):
                z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=generator).to(device)
                total += elbo_loss(model.decode_logits(z), x, mu, logvar, reduction="none").loss
            out.append((total / samples).cpu())
    finally:
        model.train(was_training)
    return torch.cat(out)


# --- rate and distortion
# The two terms of the (beta-)ELBO read as a rate-distortion pair (Alemi et al., 2018), measured on data:
# rate = E_x KL(q(z|x) || N(0, I)) in nats, distortion = E_x E_q[-log p(x|z)] in nats (Bernoulli decoder).


class RateDistortion(NamedTuple):
    """Rate and distortion of a VAE on a data set, in nats per image, with a per-dimension breakdown."""

    rate: float                 # E_x KL(q(z|x) || p(z)), summed over latent dimensions
    distortion: float           # E_x E_q[-log p(x|z)], one z ~ q(z|x) per image (BCE)
    kl_per_dim: torch.Tensor    # (D,) E_x of each dimension's KL; sums to ``rate``
    activity: torch.Tensor      # (D,) Var_x of each dimension's posterior mean (``latent_activity``)

    @property
    def neg_elbo(self) -> float:
        """``distortion + rate``: the beta = 1 negative ELBO, whatever beta the model was trained with."""
        return self.distortion + self.rate


@torch.no_grad()
def rate_distortion(
    model, images: torch.Tensor, batch_size: int = 500, generator: torch.Generator | None = None
) -> RateDistortion:
    """Measure a VAE's rate and distortion on ``images`` ``(N, 1, 28, 28)`` in [0, 1] (N >= 2).

    The model runs in ``eval`` mode without gradients (its training flag is restored); z ~ q(z|x) is
    drawn once per image on the CPU with ``generator``, so the numbers are reproducible. The rate is
    the closed-form KL, per dimension ``½ (mu² + σ² − log σ² − 1)``, averaged over the images.
    ``rate + distortion`` equals ``vae_nelbo(...)["nelbo"]`` for the same draws.
    """
    _check_vae_inputs(model, images, batch_size)
    if len(images) < 2:
        raise ValueError(f"images must hold at least 2 images (activity is a variance), got {len(images)}")
    device, was_training = _device_of(model), model.training
    model.eval()
    kl_sum, distortion, mus = 0.0, 0.0, []
    try:
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            mu, logvar = model.encode(x)                                            # (b, D) each
            eps = torch.randn(mu.shape, generator=generator).to(device)
            logits = model.decode_logits(mu + torch.exp(0.5 * logvar) * eps)       # (b, 1, 28, 28)
            distortion += float(F.binary_cross_entropy_with_logits(logits, x, reduction="sum"))
            kl_sum = kl_sum + (0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0)).sum(0).double().cpu()
            mus.append(mu.cpu())
    finally:
        model.train(was_training)
    n = len(images)
    kl_per_dim = (kl_sum / n).float()
    return RateDistortion(float(kl_sum.sum() / n), distortion / n, kl_per_dim, latent_activity(torch.cat(mus)))


# --- Frechet distance
# The Fréchet (2-Wasserstein) distance between two Gaussians fitted to feature sets, as in FID,
# but on the 128-d features of the course's small digit classifier instead of Inception
# (Inception features of 28x28 grey digits mean little). Lower is better; real-vs-real sets of
# the same size give the floor, which is > 0 because finite samples never match exactly.


def _check_features(name: str, feats: torch.Tensor) -> None:
    if not isinstance(feats, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(feats).__name__}")
    if feats.dim() != 2 or feats.shape[0] < 2:
        raise ValueError(f"{name} must have shape (N, D) with N >= 2, got {tuple(feats.shape)}")
    if not torch.isfinite(feats).all():
        raise ValueError(f"{name} holds NaN or inf values")


def _sqrtm_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix ``(D, D)`` via its eigendecomposition."""
    values, vectors = torch.linalg.eigh(matrix)
    # Round-off makes tiny eigenvalues slightly negative; they are zero in exact arithmetic.
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(feats_a: torch.Tensor, feats_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ``(N_a, D)`` and ``(N_b, D)``.

    ``d² = |mu_a - mu_b|² + tr(S_a + S_b - 2 (S_a^½ S_b S_a^½)^½)`` with the unbiased covariances
    ``S`` (``N - 1`` in the denominator). The matrix square roots are taken in float64 through
    ``eigh`` (the covariances are symmetric PSD). Returns a float >= 0; 0 for identical sets.
    """
    _check_features("feats_a", feats_a)
    _check_features("feats_b", feats_b)
    if feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(f"feats_a and feats_b must have the same width D, got {feats_a.shape[1]} and {feats_b.shape[1]}")
    a, b = feats_a.detach().cpu().double(), feats_b.detach().cpu().double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T).reshape(a.shape[1], -1), torch.cov(b.T).reshape(b.shape[1], -1)
    root_a = _sqrtm_psd(cov_a)
    cross = _sqrtm_psd(root_a @ cov_b @ root_a)  # tr of this equals tr((S_a S_b)^½)
    d2 = (mu_a - mu_b).pow(2).sum() + torch.trace(cov_a) + torch.trace(cov_b) - 2 * torch.trace(cross)
    return max(float(d2), 0.0)  # round-off can give -1e-12 for identical sets


@torch.no_grad()
def classifier_features(images: torch.Tensor, classifier: MNISTClassifier | None = None, batch_size: int = 500) -> torch.Tensor:
    """The classifier's 128-d penultimate features ``(N, 128)`` (on the CPU) of images ``(N, 1, 28, 28)`` in [0, 1]."""
    _check_images(images)
    classifier = classifier if classifier is not None else mnist_classifier(progress=False)
    was_training = classifier.training
    classifier.eval()  # dropout off: the features must be a fixed function of the image
    device = next(classifier.parameters()).device
    feats = [classifier.features(images[i : i + batch_size].to(device)).cpu() for i in range(0, len(images), batch_size)]
    classifier.train(was_training)
    return torch.cat(feats)


def classifier_fid(images_a: torch.Tensor, images_b: torch.Tensor, classifier: MNISTClassifier | None = None) -> float:
    """Fréchet distance between two image sets ``(N, 1, 28, 28)`` in [0, 1] on the digit classifier's features.

    ``classifier`` defaults to ``mnist_classifier()`` (the cached course instrument). The value depends on
    the set sizes (small sets read higher), so only compare numbers computed with the same N.
    """
    classifier = classifier if classifier is not None else mnist_classifier(progress=False)
    return frechet_distance(classifier_features(images_a, classifier), classifier_features(images_b, classifier))


def class_histogram(images: torch.Tensor, classifier: torch.nn.Module | None = None, num_classes: int = 10) -> torch.Tensor:
    """How many of ``images`` ``(N, 1, 28, 28)`` the classifier assigns to each class: int64 counts ``(num_classes,)``.

    A generator that has collapsed onto a few modes shows up as classes with (almost) no samples.
    """
    _check_images(images)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be an int >= 1, got {num_classes!r}")
    classifier = classifier if classifier is not None else mnist_classifier(progress=False)
    probs = classify(classifier, images)
    if probs.shape[1] != num_classes:
        raise ValueError(f"num_classes={num_classes} but the classifier has {probs.shape[1]} outputs")
    return torch.bincount(probs.argmax(1), minlength=num_classes)
