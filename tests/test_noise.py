"""Noise functions, the median filter and the PSNR helpers used by notebook 06."""

import math

import pytest
import torch

from course_utils import data, metrics


def grey(n=200):
    """Mid-grey images: every salt or pepper hit is visible as a change to exactly 0 or 1."""
    return torch.full((n, 1, 28, 28), 0.5)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def within_binomial(count_fraction, p, n, sigmas=5.0):
    return abs(count_fraction - p) <= sigmas * math.sqrt(p * (1 - p) / n) + 1e-12


# ----------------------------------------------------------------------------- salt and pepper


@pytest.mark.parametrize("p", [0.01, 0.1, 0.2, 0.5, 0.8])
def test_salt_and_pepper_hits_a_fraction_p_half_salt_half_pepper(p):
    x = grey()
    out = data.salt_and_pepper(x, p, generator=gen())
    hit = out != 0.5
    assert within_binomial(hit.float().mean().item(), p, x.numel())
    n_hit = int(hit.sum())
    assert within_binomial((out[hit] == 1).float().mean().item(), 0.5, n_hit)
    assert set(out.unique().tolist()) <= {0.0, 0.5, 1.0}
    assert out.dtype == x.dtype and out.shape == x.shape


def test_salt_and_pepper_keeps_unhit_pixels_and_leaves_input_alone():
    x = torch.rand(30, 1, 28, 28, generator=gen(1))
    before = x.clone()
    out = data.salt_and_pepper(x, 0.3, generator=gen(2))
    assert torch.equal(x, before)
    changed = out != x
    assert torch.all((out[changed] == 0) | (out[changed] == 1))


def test_salt_and_pepper_edge_levels_and_shapes():
    x = torch.rand(5, 1, 28, 28, generator=gen(1))
    assert torch.equal(data.salt_and_pepper(x, 0.0, generator=gen()), x)
    every = data.salt_and_pepper(x, 1.0, generator=gen())
    assert torch.all((every == 0) | (every == 1))
    assert data.salt_and_pepper(x[0, 0], 0.2, generator=gen()).shape == (28, 28)  # a single (H, W) image


def test_salt_and_pepper_is_seeded():
    a = data.salt_and_pepper(grey(10), 0.2, generator=gen(5))
    b = data.salt_and_pepper(grey(10), 0.2, generator=gen(5))
    c = data.salt_and_pepper(grey(10), 0.2, generator=gen(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_salt_and_pepper_average_is_faded_digit_on_grey():
    # E[noisy] = (1 - p) x + p / 2: the fact notebook 06 builds its "unmixing" on.
    x = torch.rand(4, 1, 28, 28, generator=gen(3))
    p, draws = 0.4, 2000
    g = gen(4)
    average = sum(data.salt_and_pepper(x, p, generator=g) for _ in range(draws)) / draws
    std_err = math.sqrt(0.25 / draws)  # a pixel's variance is at most 1/4
    assert (average - ((1 - p) * x + p / 2)).abs().max() < 5 * std_err


# ----------------------------------------------------------------------------- gaussian and mask


def test_gaussian_noise_has_standard_deviation_sigma():
    x = grey(100)
    out = data.gaussian_noise(x, 0.1, generator=gen())  # 0.5 ± 5 sigma stays inside [0, 1]: no clipping
    noise = out - x
    assert abs(noise.std().item() - 0.1) < 0.002 and abs(noise.mean().item()) < 0.002
    assert torch.equal(data.gaussian_noise(x, 0.0, generator=gen()), x)
    wide = data.gaussian_noise(x, 1.0, generator=gen())
    assert wide.min() >= 0 and wide.max() <= 1 and (wide == 0).any() and (wide == 1).any()


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_random_mask_zeroes_a_fraction_p_and_keeps_the_rest(p):
    x = grey()
    out = data.random_mask(x, p, generator=gen())
    dropped = out == 0
    assert within_binomial(dropped.float().mean().item(), p, x.numel())
    assert torch.all(out[~dropped] == 0.5)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("fn", [data.salt_and_pepper, data.random_mask, data.gaussian_noise])
@pytest.mark.parametrize("level", [-0.01, 1.01, float("nan"), float("inf")])
def test_noise_rejects_levels_outside_unit_interval(fn, level):
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        fn(grey(2), level)


@pytest.mark.parametrize("fn", [data.salt_and_pepper, data.random_mask, data.gaussian_noise])
@pytest.mark.parametrize("level", ["0.1", True, None, torch.tensor(0.1)])
def test_noise_rejects_levels_that_are_not_numbers(fn, level):
    with pytest.raises(TypeError, match=r"must be a number in \[0, 1\]"):
        fn(grey(2), level)


@pytest.mark.parametrize("fn", [data.salt_and_pepper, data.random_mask, data.gaussian_noise])
def test_noise_rejects_images_outside_unit_interval_or_not_float(fn):
    with pytest.raises(ValueError, match=r"images must be in \[0, 1\]"):
        fn(grey(2) * 2 - 1.5, 0.1)  # data normalised to [-1, 1], as in the source's GAN code
    nan_images = grey(2)
    nan_images[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        fn(nan_images, 0.1)
    with pytest.raises(TypeError, match="floating-point tensor"):
        fn(torch.zeros(2, 1, 28, 28, dtype=torch.uint8), 0.1)
    with pytest.raises(TypeError, match="floating-point tensor"):
        fn([[0.5]], 0.1)


# ----------------------------------------------------------------------------- median filter


@pytest.mark.parametrize("size", [1, 3, 5])
def test_median_filter_matches_scipy(size):
    ndimage = pytest.importorskip("scipy.ndimage")
    x = torch.rand(6, 1, 28, 28, generator=gen(2))
    expected = ndimage.median_filter(x.numpy(), size=(1, 1, size, size), mode="nearest")
    assert torch.allclose(data.median_filter(x, size), torch.from_numpy(expected))


def test_median_filter_matches_a_plain_loop():
    # Independent of scipy: the median of each 3x3 window, edges repeated, computed pixel by pixel.
    x = torch.rand(7, 9, generator=gen(3))
    padded = torch.nn.functional.pad(x[None, None], (1, 1, 1, 1), mode="replicate")[0, 0]
    expected = torch.empty_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            expected[i, j] = padded[i : i + 3, j : j + 3].flatten().sort().values[4]
    assert torch.equal(data.median_filter(x, 3), expected)


def test_median_filter_removes_isolated_impulses_and_keeps_flat_images():
    flat = torch.full((2, 1, 28, 28), 0.3)
    assert torch.equal(data.median_filter(flat), flat)
    spotted = flat.clone()
    spotted[0, 0, 10, 10], spotted[1, 0, 5, 20] = 1.0, 0.0
    assert torch.equal(data.median_filter(spotted), flat)
    assert torch.equal(spotted[0, 0, 10, 10], torch.tensor(1.0))  # the input is not modified


def test_median_filter_reduces_salt_and_pepper_error():
    x = torch.zeros(20, 1, 28, 28)
    x[:, :, 8:20, 12:16] = 1.0  # a thick bar: a shape a 3x3 median keeps
    noisy = data.salt_and_pepper(x, 0.1, generator=gen())
    assert (data.median_filter(noisy) - x).pow(2).mean() < 0.2 * (noisy - x).pow(2).mean()


@pytest.mark.parametrize("size, err", [(2, ValueError), (0, ValueError), (-3, ValueError), (3.0, TypeError), (True, TypeError)])
def test_median_filter_rejects_bad_size(size, err):
    with pytest.raises(err, match="size must be an odd int >= 1"):
        data.median_filter(grey(1), size)


def test_median_filter_rejects_bad_images():
    with pytest.raises(TypeError, match="floating-point tensor"):
        data.median_filter(torch.zeros(1, 1, 28, 28, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"\(\.\.\., H, W\)"):
        data.median_filter(torch.zeros(28))


# ----------------------------------------------------------------------------- PSNR


def test_psnr_of_identical_images_is_inf_and_finite_mean_skips_it():
    x = torch.rand(4, 1, 28, 28, generator=gen())
    values = metrics.psnr(x, x)
    assert torch.isinf(values).all() and (values > 0).all()
    estimate = x.clone()
    estimate[1] = (x[1] + 0.1).clamp(0, 1)
    per_image = metrics.psnr(estimate, x)
    assert torch.isinf(per_image[[0, 2, 3]]).all() and torch.isfinite(per_image[1])
    assert metrics.mean_psnr(estimate, x) == pytest.approx(per_image[1].item())
    with pytest.raises(ValueError, match="at least one finite entry"):
        metrics.mean_psnr(x, x)


def test_psnr_matches_the_definition():
    target = torch.zeros(3, 1, 28, 28)
    estimate = torch.full_like(target, 0.1)  # MSE 0.01 -> 20 dB
    assert torch.allclose(metrics.psnr(estimate, target), torch.tensor(20.0))
    assert torch.allclose(metrics.psnr(estimate * 255, target, max_value=255.0), torch.tensor(20.0))
    a, b = torch.rand(5, 1, 28, 28, generator=gen(1)), torch.rand(5, 1, 28, 28, generator=gen(2))
    mse = ((a - b) ** 2).flatten(1).mean(1)
    assert torch.allclose(metrics.psnr(a, b), -10 * torch.log10(mse))
    assert metrics.mean_psnr(a, b) == pytest.approx((-10 * torch.log10(mse)).mean().item(), rel=1e-6)


def test_noisy_input_psnr_follows_the_formula():
    # E[MSE] = p/2 * mean(x^2 + (1-x)^2); on black images that is p/2, i.e. PSNR = 10 log10(2/p).
    x = torch.zeros(200, 1, 28, 28)
    for p in (0.1, 0.2, 0.8):
        noisy = data.salt_and_pepper(x, p, generator=gen())
        assert metrics.mean_psnr(noisy, x) == pytest.approx(10 * math.log10(2 / p), abs=0.1)


def test_finite_mean_rejects_nan_and_non_tensors():
    with pytest.raises(ValueError, match="NaN"):
        metrics.finite_mean(torch.tensor([1.0, float("nan")]))
    with pytest.raises(TypeError, match="values must be a tensor"):
        metrics.finite_mean([1.0, 2.0])
    assert metrics.finite_mean(torch.tensor([10.0, float("inf"), 20.0])) == pytest.approx(15.0)


def test_psnr_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        metrics.mean_psnr(torch.zeros(2, 1, 28, 28), torch.zeros(3, 1, 28, 28))
