"""Helpers of notebook 04 (β-VAE) and its lab: the linear Gaussian β-VAE, a small convolutional β-VAE, and
training in the order a file stores its images (the ``shuffle=False`` pitfall).

Everything here is plumbing the notebooks would otherwise repeat; the ideas (the water-filling formula,
the β-VAE objective, what the measures mean) stay in the notebooks.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .cache import load_or_run
from .checks import check_int, check_number
from .data import batches
from .losses import kl_normal
from .models import VAE, evaluating, model_device


class LinearVAE(nn.Module):
    """Linear Gaussian VAE on ``(B, k)`` data: q(z|x) = N(A x + a0, diag exp(B x + b0)), decoder mean W z + b.

    ``forward(x)`` returns ``(x_hat (B, k), mu (B, k), logvar (B, k))`` with one sampled z.

    First used in notebook 04.
    """

    def __init__(self, k: int):
        super().__init__()
        k = check_int("k", k, low=1)
        self.enc = nn.Linear(k, 2 * k)     # mu and logvar, both linear in x
        self.dec = nn.Linear(k, k)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.enc(x).chunk(2, dim=-1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.dec(z), mu, logvar


def linear_beta_loss(model: LinearVAE, x: torch.Tensor, beta: float, noise_var: float):
    """``(D + β R, R)`` in nats per point for data ``x`` ``(B, k)``: Gaussian distortion with fixed variance
    ``noise_var`` (squared error / 2σ², constants dropped) plus β times the closed-form KL.

    Called by ``fit_linear_vae`` (notebook 04).
    """
    x_hat, mu, logvar = model(x)
    distortion = (x - x_hat).pow(2).sum(1).mean() / (2 * noise_var)
    rate = kl_normal(mu, logvar)
    return distortion + beta * rate, rate


def fit_linear_vae(x: torch.Tensor, beta: float, noise_var: float, steps: int, seed: int = 0,
                   lr: float = 1e-2) -> LinearVAE:
    """Train a ``LinearVAE`` full-batch with Adam on ``x`` ``(N, k)`` for ``steps`` steps; seeded, returned in eval mode.

    Cached like every model of the course (``cache.load_or_run``): a rerun with the same data and settings
    loads the weights. Raises ``AssertionError`` if the loss is not finite or did not fall.

    First used in notebook 04.
    """
    beta, noise_var = check_number("beta", beta, low=0.0), check_number("noise_var", noise_var, low=0.0, low_open=True)
    steps = check_int("steps", steps, low=1)
    torch.manual_seed(seed)
    model = LinearVAE(x.shape[1])

    def run() -> dict:
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        losses = []
        for _ in range(steps):
            loss, _ = linear_beta_loss(model, x, beta, noise_var)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert math.isfinite(losses[-1]) and losses[-1] < losses[0], f"β={beta}: the linear VAE did not train"
        return {"loss": [losses[0], losses[-1]]}

    load_or_run("04_linear_vae", model, run, describe_run=False, data=x, beta=beta, noise_var=noise_var,
                steps=steps, seed=seed, lr=lr)
    return model.eval()


class ConvBetaVAE(VAE):
    """A small convolutional β-VAE in the layout a common tutorial uses. Images ``(B, 1, 28, 28)``, codes ``(B, 10)``.

    Encoder: three 3×3 stride-2 convolutions with 8, 16 and 32 channels (28 → 14 → 7 → 3 pixels), ReLU after
    each and a BatchNorm after the second, a 128-unit layer, and two heads: μ and σ = softplus(·) (returned
    as log σ², as the course's measures expect). Decoder: the mirror image, 10 → 128 → 32·3·3, transposed
    convolutions 32 → 16 → 8 → 1 with its own BatchNorm after the first, returning logits.

    First used in notebook 04.
    """

    def __init__(self, latent_dim: int = 10):
        super().__init__()
        self.latent_dim = check_int("latent_dim", latent_dim, low=1)
        self.encoder_body = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),                       # (B, 8, 14, 14)
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(), nn.BatchNorm2d(16),  # (B, 16, 7, 7)
            nn.Conv2d(16, 32, 3, stride=2), nn.ReLU(),                                # (B, 32, 3, 3)
            nn.Flatten(), nn.Linear(32 * 3 * 3, 128), nn.ReLU(),                      # (B, 128)
        )
        self.to_mu = nn.Linear(128, latent_dim)
        self.to_std = nn.Linear(128, latent_dim)       # sigma via softplus, not log sigma²
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 128), nn.ReLU(), nn.Linear(128, 32 * 3 * 3), nn.ReLU(),
            nn.Unflatten(1, (32, 3, 3)),
            nn.ConvTranspose2d(32, 16, 3, stride=2), nn.ReLU(),                      # (B, 16, 7, 7)
            nn.BatchNorm2d(16),
            nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),  # (B, 8, 14, 14)
            nn.ConvTranspose2d(8, 1, 3, stride=2, padding=1, output_padding=1),              # (B, 1, 28, 28)
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images ``(B, 1, 28, 28)`` -> ``(mu, logvar)``, each ``(B, latent_dim)``."""
        h = self.encoder_body(x.reshape(len(x), 1, 28, 28))
        sigma = F.softplus(self.to_std(h)).clamp(min=1e-5)
        return self.to_mu(h), 2 * sigma.log()

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``(B, latent_dim)`` -> logits ``(B, 1, 28, 28)``."""
        return self.decoder(z)


def class_sorted(images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``images`` ``(N, ...)`` and ``labels`` ``(N,)`` reordered by class (stable): a file stored class by class.

    First used in notebook 04.
    """
    idx = torch.argsort(labels, stable=True)
    return images[idx], labels[idx]


def majority_share(labels: torch.Tensor, batch_size: int, shuffle: bool, generator: torch.Generator | None = None) -> float:
    """Mean share of a batch taken by its most common class over one pass of ``labels`` ``(N,)``.

    1 means every batch holds one class; about 0.17 for ten balanced classes shuffled into batches of 64.

    First used in notebook 04.
    """
    shares = [torch.bincount(yb, minlength=int(labels.max()) + 1).max().item() / len(yb)
              for (yb,) in batches(labels, batch_size=batch_size, shuffle=shuffle, generator=generator)]
    return float(np.mean(shares))


def classes_seen_last(labels: torch.Tensor, steps: int, batch_size: int, fraction: float = 0.1) -> list[int]:
    """The classes of the last ``fraction`` of a pass that an unshuffled run of ``steps`` steps fed last.

    ``labels`` ``(N,)`` in storage order; step ``i`` feeds batch ``i mod n_batches``. A class counts if it
    fills at least a tenth of those last batches.

    First used in notebook 04.
    """
    n_batches = math.ceil(len(labels) / batch_size)
    last = max(1, int(n_batches * fraction))
    fed = torch.cat([labels[(i % n_batches) * batch_size:(i % n_batches + 1) * batch_size]
                     for i in range(steps - last, steps)])
    counts = torch.bincount(fed, minlength=int(labels.max()) + 1)
    return [c for c in range(len(counts)) if counts[c] >= 0.1 * counts.sum()]


def fit_in_order(name: str, model: VAE, objective, images: torch.Tensor, steps: int, batch_size: int = 64,
                 seed: int = 0, shuffle: bool = True, lr: float = 1e-3, device=None) -> tuple[list[float], bool]:
    """Train ``model`` with Adam for ``steps`` steps over ``images`` ``(N, 1, 28, 28)``, one pass after another,
    reshuffled every pass (``shuffle=True``) or fed in the tensor's own order every pass (``shuffle=False``,
    what ``DataLoader(..., shuffle=False)`` does); cached by ``load_or_run`` under ``name``.

    Seed right before building ``model`` (its initial weights are part of the key). Returns
    ``(per-step losses, loaded)``; the model is left on ``device`` in eval mode.

    First used in notebook 04.
    """
    steps, batch_size = check_int("steps", steps, low=1), check_int("batch_size", batch_size, low=1)

    def run():
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        model.to(device).train()
        losses: list[float] = []
        while len(losses) < steps:             # one pass over the data per round, like a DataLoader epoch
            for (x,) in batches(images, batch_size=batch_size, shuffle=shuffle, generator=gen, device=device):
                loss, _ = objective(model, (x,))
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
                if len(losses) == steps:
                    break
        return {"loss": losses}

    history, loaded = load_or_run(name, model, run, describe_run=False, objective=objective, data=images,
                                  steps=steps, batch_size=batch_size, seed=seed, shuffle=shuffle, lr=lr,
                                  loop="fit_in_order v1")
    model.to(device).eval()
    return history["loss"], loaded


@torch.no_grad()
def reconstruction_nats(model: VAE, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Per-image BCE (nats, summed over pixels) of the reconstruction decoded from μ: ``(N,)`` on the CPU.

    First used in notebook 04.
    """
    device = model_device(model)
    out = []
    with evaluating(model):
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size].to(device)
            logits = model.decode_logits(model.encode(x)[0])
            out.append(F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1).cpu())
    return torch.cat(out)
