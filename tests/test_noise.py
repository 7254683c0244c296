"""Noise functions, the median filter and the PSNR helpers used by notebook 06."""

import math

import pytest
import torch
from course_utils.noise import (
    gaussian_noise,
    median_filter,
    random_mask,
    salt_and_pepper,
)

from conftest import gen


def grey(n=200):
    """Mid-grey images: every salt or pepper hit is visible as a change to exactly 0 or 1."""
    return torch.full((n, 1, 28, 28), 0.5)


def within_binomial(count_fraction, p, n, sigmas=5.0):
    return abs(count_fraction - p) <= sigmas * math.sqrt(p * (1 - p) / n) + 1e-12


# ----------------------------------------------------------------------------- salt and pepper


@pytest.mark.parametrize("p", [0.01, 0.1, 0.2, 0.5, 0.8])
def test_salt_and_pepper_hits_a_fraction_p_half_salt_half_pepper(p):
    x = grey()
    out = salt_and_pepper(x, p, generator=gen())
    hit = out != 0.5
    assert within_binomial(hit.float().mean().item(), p, x.numel())
    n_hit = int(hit.sum())
    assert within_binomial((out[hit] == 1).float().mean().item(), 0.5, n_hit)
    assert set(out.unique().tolist()) <= {0.0, 0.5, 1.0}
    assert out.dtype == x.dtype and out.shape == x.shape


def test_salt_and_pepper_keeps_unhit_pixels_and_leaves_input_alone():
    x = torch.rand(30, 1, 28, 28, generator=gen(1))
    before = x.clone()
    out = salt_and_pepper(x, 0.3, generator=gen(2))
    assert torch.equal(x, before)
    changed = out != x
    assert torch.all((out[changed] == 0) | (out[changed] == 1))


def test_salt_and_pepper_edge_levels_and_shapes():
    x = torch.rand(5, 1, 28, 28, generator=gen(1))
    assert torch.equal(salt_and_pepper(x, 0.0, generator=gen()), x)
    every = salt_and_pepper(x, 1.0, generator=gen())
    assert torch.all((every == 0) | (every == 1))
    assert salt_and_pepper(x[0, 0], 0.2, generator=gen()).shape == (28, 28)  # a single (H, W) image


def test_salt_and_pepper_is_seeded():
    a = salt_and_pepper(grey(10), 0.2, generator=gen(5))
    b = salt_and_pepper(grey(10), 0.2, generator=gen(5))
    c = salt_and_pepper(grey(10), 0.2, generator=gen(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_salt_and_pepper_average_is_faded_digit_on_grey():
    # E[noisy] = (1 - p) x + p / 2: the fact notebook 06 builds its "unmixing" on.
    x = torch.rand(4, 1, 28, 28, generator=gen(3))
    p, draws = 0.4, 2000
    g = gen(4)
    average = sum(salt_and_pepper(x, p, generator=g) for _ in range(draws)) / draws
    std_err = math.sqrt(0.25 / draws)  # a pixel's variance is at most 1/4
    assert (average - ((1 - p) * x + p / 2)).abs().max() < 5 * std_err


# ----------------------------------------------------------------------------- gaussian and mask


def test_gaussian_noise_has_standard_deviation_sigma():
    x = grey(100)
    out = gaussian_noise(x, 0.1, generator=gen())  # 0.5 ± 5 sigma stays inside [0, 1]: no clipping
    noise = out - x
    assert abs(noise.std().item() - 0.1) < 0.002 and abs(noise.mean().item()) < 0.002
    assert torch.equal(gaussian_noise(x, 0.0, generator=gen()), x)
    wide = gaussian_noise(x, 1.0, generator=gen())
    assert wide.min() >= 0 and wide.max() <= 1 and (wide == 0).any() and (wide == 1).any()


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_random_mask_zeroes_a_fraction_p_and_keeps_the_rest(p):
    x = grey()
    out = random_mask(x, p, generator=gen())
    dropped = out == 0
    assert within_binomial(dropped.float().mean().item(), p, x.numel())
    assert torch.all(out[~dropped] == 0.5)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("fn", [salt_and_pepper, random_mask, gaussian_noise])
@pytest.mark.parametrize("level", [-0.01, 1.01, float("nan"), float("inf")])
def test_noise_rejects_levels_outside_unit_interval(fn, level):
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        fn(grey(2), level)


@pytest.mark.parametrize("fn", [salt_and_pepper, random_mask, gaussian_noise])
@pytest.mark.parametrize("level", ["0.1", True, None, torch.tensor(0.1)])
def test_noise_rejects_levels_that_are_not_numbers(fn, level):
    with pytest.raises(TypeError, match=r"must be a number in \[0, 1\]"):
        fn(grey(2), level)


@pytest.mark.parametrize("fn", [salt_and_pepper, random_mask, gaussian_noise])
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
    assert torch.allclose(median_filter(x, size), torch.from_numpy(expected))


def test_median_filter_matches_a_plain_loop():
    # Independent of scipy: the median of each 3x3 window, edges repeated, computed pixel by pixel.
    x = torch.rand(7, 9, generator=gen(3))
    padded = torch.nn.functional.pad(x[None, None], (1, 1, 1, 1), mode="replicate")[0, 0]
    expected = torch.empty_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            expected[i, j] = padded[i : i + 3, j : j + 3].flatten().sort().values[4]
    assert torch.equal(median_filter(x, 3), expected)


def test_median_filter_removes_isolated_impulses_and_keeps_flat_images():
    flat = torch.full((2, 1, 28, 28), 0.3)
    assert torch.equal(median_filter(flat), flat)
    spotted = flat.clone()
    spotted[0, 0, 10, 10], spotted[1, 0, 5, 20] = 1.0, 0.0
    assert torch.equal(median_filter(spotted), flat)
    assert torch.equal(spotted[0, 0, 10, 10], torch.tensor(1.0))  # the input is not modified


def test_median_filter_reduces_salt_and_pepper_error():
    x = torch.zeros(20, 1, 28, 28)
    x[:, :, 8:20, 12:16] = 1.0  # a thick bar: a shape a 3x3 median keeps
    noisy = salt_and_pepper(x, 0.1, generator=gen())
    assert (median_filter(noisy) - x).pow(2).mean() < 0.2 * (noisy - x).pow(2).mean()


@pytest.mark.parametrize("size, err", [(2, ValueError), (0, ValueError), (-3, ValueError), (3.0, TypeError), (True, TypeError)])
def test_median_filter_rejects_bad_size(size, err):
    with pytest.raises(err, match="size must be an odd int >= 1"):
        median_filter(grey(1), size)


def test_median_filter_rejects_bad_images():
    with pytest.raises(TypeError, match="floating-point tensor"):
        median_filter(torch.zeros(1, 1, 28, 28, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"\(\.\.\., H, W\)"):
        median_filter(torch.zeros(28))


# ----------------------------------------------------------------------------- PSNR


def test_noise_functions_validate_arguments():
    x = torch.rand(2, 1, 28, 28)
    for fn in (salt_and_pepper, random_mask):
        with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
            fn(x, 1.5)
    with pytest.raises(ValueError, match=r"sigma must be in \[0, 1\]"):
        gaussian_noise(x, -0.1)
    with pytest.raises(ValueError, match=r"images must be in \[0, 1\]"):
        salt_and_pepper(x * 2 - 1, 0.1)


def test_salt_and_pepper_fraction_and_seed():
    x = torch.full((50, 1, 28, 28), 0.5)
    noisy = salt_and_pepper(x, 0.2, generator=torch.Generator().manual_seed(0))
    changed = noisy != 0.5
    assert abs(changed.float().mean().item() - 0.2) < 0.01
    assert abs((noisy[changed] == 1).float().mean().item() - 0.5) < 0.03
    again = salt_and_pepper(x, 0.2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(noisy, again) and torch.equal(x, torch.full_like(x, 0.5))  # input untouched
