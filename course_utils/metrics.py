"""Numbers the course reports: PSNR, and a small MNIST classifier used as a measuring instrument."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import config
from .data import load_mnist
from .models import MNISTClassifier
from .train import fingerprint, fit, load_or_train


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
