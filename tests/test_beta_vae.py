"""Unit tests of course_utils.beta_vae (notebook 04 and its lab): shapes, the linear β-VAE's optimum,
class-sorted storage, batch purity, the classes an unshuffled run feeds last, and the cached in-order loop."""

import math

import pytest
import torch

from course_utils import beta_vae
from course_utils.beta_vae import (ConvBetaVAE, LinearVAE, class_sorted, classes_seen_last, fit_in_order,
                                   fit_linear_vae, linear_beta_loss, majority_share, reconstruction_nats)
from course_utils.config import environment
from course_utils.losses import VAEObjective


def test_linear_vae_shapes_and_loss():
    model = LinearVAE(3)
    x = torch.randn(16, 3)
    x_hat, mu, logvar = model(x)
    assert x_hat.shape == mu.shape == logvar.shape == (16, 3)
    loss, rate = linear_beta_loss(model, x, 2.0, 0.1)
    assert loss.ndim == 0 and rate.item() >= 0


def test_fit_linear_vae_reaches_the_water_filling_rate():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1024, 2, generator=g) * torch.tensor([2.0, 0.1])      # variances 4 and 0.01
    model = fit_linear_vae(x, beta=1.0, noise_var=0.1, steps=800, seed=0)
    with torch.no_grad():
        _, mu, logvar = model(x)
    rate = (0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)).sum(1).mean().item()
    expected = 0.5 * math.log(x[:, 0].var().item() / 0.1)                 # second direction below the level: 0 nats
    assert abs(rate - expected) < 0.2, (rate, expected)


def test_fit_linear_vae_loads_a_cached_fit(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    x = torch.randn(256, 3, generator=torch.Generator().manual_seed(1))
    first = fit_linear_vae(x, beta=2.0, noise_var=0.1, steps=50, seed=0)
    assert len(list(tmp_path.glob("04_linear_vae-*.pt"))) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("a cached fit must not train again")

    monkeypatch.setattr(beta_vae, "linear_beta_loss", no_training)
    again = fit_linear_vae(x, beta=2.0, noise_var=0.1, steps=50, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), again.state_dict().values()))
    assert not again.training
    with pytest.raises(AssertionError, match="must not train"):   # another β is another fit
        fit_linear_vae(x, beta=4.0, noise_var=0.1, steps=50, seed=0)


def test_fit_linear_vae_rejects_bad_arguments():
    with pytest.raises(ValueError):
        fit_linear_vae(torch.randn(8, 2), beta=1.0, noise_var=0.0, steps=10)


def test_conv_beta_vae_shapes():
    model = ConvBetaVAE()
    x = torch.rand(5, 1, 28, 28)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 10) and torch.isfinite(logvar).all()
    assert model.decode(mu).shape == (5, 1, 28, 28)
    assert reconstruction_nats(model, x).shape == (5,)


def test_class_sorted_and_purity():
    y = torch.arange(10).repeat(64)                                       # mixed: 0..9, 0..9, ...
    x = y.float().view(-1, 1)
    xs, ys = class_sorted(x, y)
    assert (ys.diff() >= 0).all() and torch.equal(xs.view(-1).long(), ys)
    assert majority_share(ys, 64, shuffle=False) == 1.0
    assert majority_share(y, 64, shuffle=False) < 0.2


def test_classes_seen_last():
    y = torch.arange(10).repeat_interleave(64)                            # one class per batch of 64, 10 batches
    assert classes_seen_last(y, steps=10, batch_size=64) == [9]
    assert classes_seen_last(y, steps=13, batch_size=64) == [2]           # 13 steps: the last batch is batch 2


def test_fit_in_order_caches_and_respects_the_order(tmp_path):
    x = torch.rand(128, 1, 28, 28)
    with environment(COURSE_CACHE=str(tmp_path)):
        torch.manual_seed(0)
        first = ConvBetaVAE()
        losses, loaded = fit_in_order("t", first, VAEObjective(beta=2), x, steps=3, batch_size=64, shuffle=False)
        assert len(losses) == 3 and not loaded
        torch.manual_seed(0)
        again = ConvBetaVAE()
        losses2, loaded2 = fit_in_order("t", again, VAEObjective(beta=2), x, steps=3, batch_size=64, shuffle=False)
        assert loaded2 and losses2 == losses
        torch.manual_seed(0)
        shuffled = ConvBetaVAE()
        _, loaded3 = fit_in_order("t", shuffled, VAEObjective(beta=2), x, steps=3, batch_size=64, shuffle=True)
        assert not loaded3
