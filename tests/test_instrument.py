"""The GAN networks and the Fréchet-distance metrics used by notebook 05."""

import math

import numpy as np
import pytest
import torch
from course_utils.instrument import (
    class_histogram,
    classifier_fid,
    frechet_distance,
    sample_quality,
)
from scipy.linalg import sqrtm
from torch import nn

# ----------------------------------------------------------------------------- networks


# ----------------------------------------------------------------------------- Fréchet distance


def test_frechet_distance_hand_computed_1d():
    # a = {0, 2}: mean 1, unbiased variance 2; b = {0, 4}: mean 2, variance 8.
    # d² = (1 - 2)² + 2 + 8 - 2 sqrt(2 * 8) = 1 + 10 - 8 = 3
    a = torch.tensor([[0.0], [2.0]])
    b = torch.tensor([[0.0], [4.0]])
    assert frechet_distance(a, b) == pytest.approx(3.0, abs=1e-9)
    # same spread, shifted mean by 3: only the mean term, 9
    assert frechet_distance(a, a + 3) == pytest.approx(9.0, abs=1e-9)


def test_frechet_distance_hand_computed_2d_diagonal():
    # Rows (+-1, +-1) in a 2x2 design: covariance diag(4/3, 4/3) * s²; means set by the shift.
    design = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    a = design * torch.tensor([1.0, 2.0])                       # var (4/3)*(1, 4), mean 0
    b = design * torch.tensor([3.0, 2.0]) + torch.tensor([1.0, -2.0])  # var (4/3)*(9, 4), mean (1, -2)
    expected = (1 + 4) + (4 / 3) * ((1 - 3) ** 2 + (2 - 2) ** 2)    # |dmu|² + sum (sd_a - sd_b)²
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_is_zero_for_identical_sets_and_symmetric():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(300, 16, generator=gen) @ torch.randn(16, 16, generator=gen)
    b = torch.randn(200, 16, generator=gen) + 0.5
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)
    assert frechet_distance(a, b) > 1.0


def test_frechet_distance_matches_scipy_sqrtm():
    gen = torch.Generator().manual_seed(1)
    a = (torch.randn(400, 10, generator=gen) @ torch.randn(10, 10, generator=gen)).double()
    b = (torch.randn(250, 10, generator=gen) @ torch.randn(10, 10, generator=gen) + 1).double()
    ca, cb = np.cov(a.numpy().T), np.cov(b.numpy().T)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum().item() + np.trace(ca + cb - 2 * sqrtm(ca @ cb).real)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_grows_with_the_shift():
    gen = torch.Generator().manual_seed(2)
    a = torch.randn(500, 4, generator=gen)
    d = [frechet_distance(a, a + shift) for shift in (0.5, 1.0, 2.0)]
    # a pure shift of every coordinate by s adds exactly 4 s² (covariances are identical)
    assert d == pytest.approx([4 * 0.25, 4 * 1.0, 4 * 4.0], rel=1e-6)


@pytest.mark.parametrize(
    "a, b, error",
    [
        (np.zeros((5, 3)), torch.zeros(5, 3), TypeError),
        (torch.zeros(5), torch.zeros(5, 1), ValueError),
        (torch.zeros(1, 3), torch.zeros(5, 3), ValueError),
        (torch.zeros(5, 3), torch.zeros(5, 4), ValueError),
        (torch.full((5, 3), float("nan")), torch.zeros(5, 3), ValueError),
    ],
)
def test_frechet_distance_rejects_bad_input(a, b, error):
    with pytest.raises(error):
        frechet_distance(a, b)


# ----------------------------------------------------------------------------- classifier-based metrics


class _PixelClassifier(torch.nn.Module):
    """A stand-in instrument: 'features' are 4 pooled pixel blocks, the class is the brightest quadrant."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def features(self, x):
        return torch.nn.functional.avg_pool2d(x.reshape(len(x), 1, 28, 28), 14).flatten(1)  # (B, 4)

    def forward(self, x):
        return self.features(x) * 50  # logits (B, 4)


def _quadrant_images(quadrants, gen):
    images = torch.rand(len(quadrants), 1, 28, 28, generator=gen) * 0.1
    for i, q in enumerate(quadrants):
        r, c = divmod(int(q), 2)
        images[i, 0, r * 14 : (r + 1) * 14, c * 14 : (c + 1) * 14] += 0.8
    return images


def test_class_histogram_counts_the_classifier_calls():
    gen = torch.Generator().manual_seed(3)
    quadrants = torch.tensor([0, 0, 0, 1, 3, 3])
    hist = class_histogram(_quadrant_images(quadrants, gen), _PixelClassifier(), num_classes=4)
    assert hist.tolist() == torch.bincount(quadrants, minlength=4).tolist()
    assert hist.dtype == torch.int64


def test_classifier_fid_uses_the_classifier_features():
    gen = torch.Generator().manual_seed(4)
    clf = _PixelClassifier()
    a = _quadrant_images(torch.randint(0, 4, (64,), generator=gen), gen)
    b = _quadrant_images(torch.zeros(64, dtype=torch.long), gen)  # collapsed onto one class
    assert classifier_fid(a, a, clf) == pytest.approx(0.0, abs=1e-8)
    expected = frechet_distance(clf.features(a), clf.features(b))
    assert classifier_fid(a, b, clf) == pytest.approx(expected, rel=1e-6)
    assert classifier_fid(a, b, clf) > classifier_fid(a, a[torch.randperm(64, generator=gen)][:32], clf)


def test_classifier_metrics_reject_bad_images():
    clf = _PixelClassifier()
    with pytest.raises(ValueError, match="images"):
        class_histogram(torch.rand(3, 28, 28), clf)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        class_histogram(torch.rand(3, 1, 28, 28) * 2 - 1, clf, num_classes=4)
    with pytest.raises(ValueError, match="num_classes"):
        class_histogram(torch.rand(3, 1, 28, 28), clf, num_classes=10)
    with pytest.raises(ValueError, match="num_classes"):
        class_histogram(torch.rand(3, 1, 28, 28), clf, num_classes=0)
    with pytest.raises(TypeError):
        classifier_fid(np.zeros((3, 1, 28, 28)), torch.rand(3, 1, 28, 28), clf)


class BrightnessClassifier(nn.Module):
    """A fake digit classifier: class k when the mean pixel is near k/10 (sharpness of the logits = `gain`)."""

    def __init__(self, gain=200.0):
        super().__init__()
        self.gain = gain
        self.dummy = nn.Parameter(torch.zeros(1))  # classify() reads the device from a parameter

    def forward(self, x):
        m = x.flatten(1).mean(1, keepdim=True)
        return -self.gain * (m * 10 - torch.arange(10.0)) ** 2 + self.dummy


def _constant_images(levels):
    return torch.stack([torch.full((1, 28, 28), k / 10) for k in levels])


def test_sample_quality_of_diverse_confident_samples():
    q = sample_quality(BrightnessClassifier(), _constant_images(list(range(10)) * 3))
    assert q["confidence"] > 0.99 and q["confident_fraction"] == 1.0
    assert math.isclose(q["class_entropy"], math.log(10), rel_tol=1e-5)
    assert torch.allclose(q["class_histogram"], torch.full((10,), 0.1))


def test_sample_quality_of_a_collapsed_generator():
    q = sample_quality(BrightnessClassifier(), _constant_images([3] * 20))
    assert q["class_entropy"] == 0.0
    assert q["class_histogram"][3] == 1.0 and q["class_histogram"].sum() == 1.0


def test_sample_quality_of_ambiguous_samples():
    # Half-way between two classes: the classifier splits its vote, confidence ~0.5.
    q = sample_quality(BrightnessClassifier(), _constant_images([3.5] * 8))
    assert 0.4 < q["confidence"] < 0.6 and q["confident_fraction"] == 0.0


@pytest.mark.parametrize("bad", [torch.rand(5, 784), torch.rand(0, 1, 28, 28), torch.rand(2, 1, 14, 14), [1, 2]])
def test_sample_quality_rejects_bad_samples(bad):
    with pytest.raises(ValueError, match="samples"):
        sample_quality(BrightnessClassifier(), bad)


@pytest.mark.parametrize("bad", [0, 1, 1.5, True])
def test_sample_quality_rejects_bad_threshold(bad):
    with pytest.raises(ValueError, match="confident"):
        sample_quality(BrightnessClassifier(), _constant_images([1, 2]), confident=bad)
