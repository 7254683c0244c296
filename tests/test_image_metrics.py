"""Tests."""
import math

import pytest
import torch
from course_utils.image_metrics import finite_mean, mean_psnr, psnr, sharpness
from course_utils.noise import (
    salt_and_pepper,
)
from torch import nn

from conftest import gen


def test_psnr_of_identical_images_is_inf_and_finite_mean_skips_it():
    x = torch.rand(4, 1, 28, 28, generator=gen())
    values = psnr(x, x)
    assert torch.isinf(values).all() and (values > 0).all()
    estimate = x.clone()
    estimate[1] = (x[1] + 0.1).clamp(0, 1)
    per_image = psnr(estimate, x)
    assert torch.isinf(per_image[[0, 2, 3]]).all() and torch.isfinite(per_image[1])
    assert mean_psnr(estimate, x) == pytest.approx(per_image[1].item())
    with pytest.raises(ValueError, match="at least one finite entry"):
        mean_psnr(x, x)


def test_psnr_matches_the_definition():
    target = torch.zeros(3, 1, 28, 28)
    estimate = torch.full_like(target, 0.1)  # MSE 0.01 -> 20 dB
    assert torch.allclose(psnr(estimate, target), torch.tensor(20.0))
    assert torch.allclose(psnr(estimate * 255, target, max_value=255.0), torch.tensor(20.0))
    a, b = torch.rand(5, 1, 28, 28, generator=gen(1)), torch.rand(5, 1, 28, 28, generator=gen(2))
    mse = ((a - b) ** 2).flatten(1).mean(1)
    assert torch.allclose(psnr(a, b), -10 * torch.log10(mse))
    assert mean_psnr(a, b) == pytest.approx((-10 * torch.log10(mse)).mean().item(), rel=1e-6)


def test_noisy_input_psnr_follows_the_formula():
    # E[MSE] = p/2 * mean(x^2 + (1-x)^2); on black images that is p/2, i.e. PSNR = 10 log10(2/p).
    x = torch.zeros(200, 1, 28, 28)
    for p in (0.1, 0.2, 0.8):
        noisy = salt_and_pepper(x, p, generator=gen())
        assert mean_psnr(noisy, x) == pytest.approx(10 * math.log10(2 / p), abs=0.1)


def test_finite_mean_rejects_nan_and_non_tensors():
    with pytest.raises(ValueError, match="NaN"):
        finite_mean(torch.tensor([1.0, float("nan")]))
    with pytest.raises(TypeError, match="values must be a tensor"):
        finite_mean([1.0, 2.0])
    assert finite_mean(torch.tensor([10.0, float("inf"), 20.0])) == pytest.approx(15.0)


def test_psnr_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        mean_psnr(torch.zeros(2, 1, 28, 28), torch.zeros(3, 1, 28, 28))


def test_sharpness_of_constant_and_checkerboard_images():
    flat = torch.full((2, 1, 28, 28), 0.7)
    assert torch.equal(sharpness(flat), torch.zeros(2))
    idx = torch.arange(28)
    board = ((idx[:, None] + idx[None, :]) % 2).float().view(1, 1, 28, 28)
    # every neighbour differs by 1 in both directions: |grad| = sqrt(2) everywhere
    assert torch.allclose(sharpness(board), torch.tensor([math.sqrt(2)]))


def test_blurring_lowers_sharpness():
    g = torch.Generator().manual_seed(0)
    img = (torch.rand(4, 1, 28, 28, generator=g) > 0.7).float()
    blurred = nn.functional.avg_pool2d(img, 3, stride=1, padding=1)
    assert (sharpness(blurred) < sharpness(img)).all()


@pytest.mark.parametrize("bad", [torch.rand(28, 28), torch.rand(2, 3, 28, 28), torch.rand(0, 1, 28, 28), torch.rand(2, 1, 1, 5)])
def test_sharpness_rejects_bad_shapes(bad):
    with pytest.raises(ValueError, match="images"):
        sharpness(bad)
