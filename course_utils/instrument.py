"""The course's measuring instrument: a small digit classifier, and what it says about generated digits.

Trained once on the MNIST training split and cached, it judges samples in every notebook the same way:
class probabilities and confidence, the class histogram (mode collapse), and the Fréchet distance on its
128-d features. This is the only measuring module that imports ``train`` (it trains the classifier).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import config
from .checks import check_images, check_int, check_number
from .data import load_mnist
from .models import MNISTClassifier, evaluating, model_device
from .train import load_or_fit

CLASSIFIER_STEPS = {"full": 2000, "fast": 40}  # optimiser steps of batch 128: 64 epochs of 4,000 digits, 4 of 60,000
CLASSIFIER_SEED = 0  # fixed, not COURSE_SEED: the instrument is the same whatever seed a notebook runs with


def mnist_classifier(device: torch.device | str | None = None, progress: bool = True) -> MNISTClassifier:
    """The course's digit classifier, trained once on the MNIST train split and cached.

    Used to *measure* generated digits (accuracy/confidence on samples, Fréchet distance on its
    128-d features), so every notebook uses the same instrument. Returned in ``eval`` mode.

    First used in notebook 01.
    """
    device = torch.device(device) if device is not None else config.device()
    x, y = load_mnist(train=True, limit=config.pick(None, 2000))
    with torch.random.fork_rng():
        torch.manual_seed(CLASSIFIER_SEED)
        model = MNISTClassifier()
    # The budget is fixed (not scaled by COURSE_BUDGET): the instrument must not change with the budget.
    steps = CLASSIFIER_STEPS["fast"] if config.FAST else CLASSIFIER_STEPS["full"]
    load_or_fit("mnist_classifier", model, classification_objective, (x, y), steps=steps, seed=CLASSIFIER_SEED,
                device=device, desc="digit classifier", progress=progress)
    return model.to(device).eval()


def classification_objective(model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy of ``model(images)`` logits ``(B, 10)`` against ``labels`` ``(B,)``: the classifier's loss."""
    images, labels = batch
    return F.cross_entropy(model(images), labels)


def classify(classifier: torch.nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Class probabilities ``(B, 10)`` for images ``(B, 1, 28, 28)`` in [0, 1]. First used in notebook 01."""
    device = model_device(classifier)
    with evaluating(classifier):
        out = [F.softmax(classifier(images[i : i + batch_size].to(device)), 1).cpu()
               for i in range(0, len(images), batch_size)]
    return torch.cat(out)


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

    First used in notebook 02.
    """
    if not isinstance(samples, torch.Tensor) or samples.dim() != 4 or samples.shape[1:] != (1, 28, 28):
        shape = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
        raise ValueError(f"samples must be a tensor of shape (B, 1, 28, 28), got {shape}")
    if len(samples) == 0:
        raise ValueError("samples must hold at least one image")
    confident = check_number("confident", confident, 0, 1, low_open=True)
    if confident == 1:
        raise ValueError("confident must be a number in (0, 1), got 1")
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

    First used in notebook 05.
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


def classifier_features(images: torch.Tensor, classifier: MNISTClassifier | None = None, batch_size: int = 500) -> torch.Tensor:
    """The classifier's 128-d penultimate features ``(N, 128)`` (on the CPU) of images ``(N, 1, 28, 28)`` in [0, 1]."""
    check_images(images)
    classifier = classifier if classifier is not None else mnist_classifier(progress=False)
    device = model_device(classifier)
    with evaluating(classifier):  # dropout off: the features must be a fixed function of the image
        feats = [classifier.features(images[i : i + batch_size].to(device)).cpu()
                 for i in range(0, len(images), batch_size)]
    return torch.cat(feats)


def classifier_fid(images_a: torch.Tensor, images_b: torch.Tensor, classifier: MNISTClassifier | None = None) -> float:
    """Fréchet distance between two image sets ``(N, 1, 28, 28)`` in [0, 1] on the digit classifier's features.

    ``classifier`` defaults to ``mnist_classifier()`` (the cached course instrument). The value depends on
    the set sizes (small sets read higher), so only compare numbers computed with the same N.

    First used in notebook 05 (notebook 03 calls it through ``classifier_fd``).
    """
    classifier = classifier if classifier is not None else mnist_classifier(progress=False)
    return frechet_distance(classifier_features(images_a, classifier), classifier_features(images_b, classifier))


def class_histogram(images: torch.Tensor, classifier: torch.nn.Module | None = None, num_classes: int = 10) -> torch.Tensor:
    """How many of ``images`` ``(N, 1, 28, 28)`` the classifier assigns to each class: int64 counts ``(num_classes,)``.

    A generator that has collapsed onto a few modes shows up as classes with (almost) no samples.

    First used in notebook 05.
    """
    check_images(images)
    check_int("num_classes", num_classes, low=1)
    classifier = classifier if classifier is not None else mnist_classifier(progress=False)
    probs = classify(classifier, images)
    if probs.shape[1] != num_classes:
        raise ValueError(f"num_classes={num_classes} but the classifier has {probs.shape[1]} outputs")
    return torch.bincount(probs.argmax(1), minlength=num_classes)


def classifier_fd(images_a: torch.Tensor, images_b: torch.Tensor, classifier: MNISTClassifier | None = None) -> float:
    """Fréchet distance (FD) between two image sets ``(N, 1, 28, 28)`` in [0, 1] in the course classifier's features.

    The same number as ``classifier_fid`` under a name that says what it is: the Fréchet distance of Gaussians
    fitted to the 128-d penultimate features of the course's digit classifier, *not* the Inception FID of the
    literature (a different network, different features, values on a different scale). Like any FD it depends
    on the set sizes, so compare only numbers computed with the same N. Returns a float >= 0.

    First used in notebook 03.
    """
    return classifier_fid(images_a, images_b, classifier)
