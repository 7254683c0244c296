"""The GAN networks and the Fréchet-distance metrics used by notebook 05."""

import numpy as np
import pytest
import torch
from scipy.linalg import sqrtm

from course_utils import metrics, models


# ----------------------------------------------------------------------------- networks


def test_generator_shapes_and_pixel_range():
    g = models.MLPGenerator(latent_dim=8, hidden=(16, 32))
    z = torch.randn(5, 8) * 10  # large inputs: the sigmoid must still keep pixels in [0, 1]
    images = g(z)
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1
    assert torch.allclose(images, torch.sigmoid(g.logits(z)))


def test_generator_sample_is_seeded_and_keeps_mode():
    g = models.MLPGenerator(latent_dim=4, hidden=(8, 16))
    g.train()
    a = g.sample(6, generator=torch.Generator().manual_seed(0))
    b = g.sample(6, generator=torch.Generator().manual_seed(0))
    assert a.shape == (6, 1, 28, 28) and torch.equal(a, b)
    assert g.training  # sampling switches to eval mode for BatchNorm and back


def test_generator_without_batch_norm_has_none():
    g = models.MLPGenerator(latent_dim=4, hidden=(8, 16), batch_norm=False)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in g.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in models.MLPGenerator(4, (8, 16, 32)).modules()) == 2


def test_discriminator_returns_one_logit_per_image():
    d = models.MLPDiscriminator(hidden=(16,))
    x = torch.rand(7, 1, 28, 28)
    out = d(x)
    assert out.shape == (7,)
    assert torch.allclose(d(x.view(7, 784)), out)  # flat input accepted
    # logits, not probabilities: a large last-layer bias pushes them outside [0, 1]
    with torch.no_grad():
        d.net[-1].bias.fill_(5.0)
    assert (d(x) > 1).any()


def test_gan_gradients_reach_the_generator_through_the_discriminator():
    g, d = models.MLPGenerator(latent_dim=4, hidden=(8, 16)), models.MLPDiscriminator(hidden=(8,))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(d(g(torch.randn(3, 4))), torch.ones(3))
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in g.parameters())


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda: models.MLPGenerator(latent_dim=0), ValueError),
        (lambda: models.MLPGenerator(latent_dim=2.5), TypeError),
        (lambda: models.MLPGenerator(hidden=()), ValueError),
        (lambda: models.MLPGenerator(hidden=(8, -1)), ValueError),
        (lambda: models.MLPDiscriminator(hidden=()), ValueError),
    ],
)
def test_gan_constructors_reject_bad_sizes(make, error):
    with pytest.raises(error):
        make()


def test_gan_forward_rejects_bad_shapes():
    with pytest.raises(ValueError, match="latent"):
        models.MLPGenerator(latent_dim=4, hidden=(8,))(torch.randn(2, 5))
    with pytest.raises(ValueError, match="images"):
        models.MLPDiscriminator(hidden=(8,))(torch.rand(2, 1, 14, 14))


# ----------------------------------------------------------------------------- Fréchet distance


def test_frechet_distance_hand_computed_1d():
    # a = {0, 2}: mean 1, unbiased variance 2; b = {0, 4}: mean 2, variance 8.
    # d² = (1 - 2)² + 2 + 8 - 2 sqrt(2 * 8) = 1 + 10 - 8 = 3
    a = torch.tensor([[0.0], [2.0]])
    b = torch.tensor([[0.0], [4.0]])
    assert metrics.frechet_distance(a, b) == pytest.approx(3.0, abs=1e-9)
    # same spread, shifted mean by 3: only the mean term, 9
    assert metrics.frechet_distance(a, a + 3) == pytest.approx(9.0, abs=1e-9)


def test_frechet_distance_hand_computed_2d_diagonal():
    # Rows (+-1, +-1) in a 2x2 design: covariance diag(4/3, 4/3) * s²; means set by the shift.
    design = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    a = design * torch.tensor([1.0, 2.0])                       # var (4/3)*(1, 4), mean 0
    b = design * torch.tensor([3.0, 2.0]) + torch.tensor([1.0, -2.0])  # var (4/3)*(9, 4), mean (1, -2)
    expected = (1 + 4) + (4 / 3) * ((1 - 3) ** 2 + (2 - 2) ** 2)    # |dmu|² + sum (sd_a - sd_b)²
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_is_zero_for_identical_sets_and_symmetric():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(300, 16, generator=gen) @ torch.randn(16, 16, generator=gen)
    b = torch.randn(200, 16, generator=gen) + 0.5
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert metrics.frechet_distance(a, b) == pytest.approx(metrics.frechet_distance(b, a), rel=1e-6)
    assert metrics.frechet_distance(a, b) > 1.0


def test_frechet_distance_matches_scipy_sqrtm():
    gen = torch.Generator().manual_seed(1)
    a = (torch.randn(400, 10, generator=gen) @ torch.randn(10, 10, generator=gen)).double()
    b = (torch.randn(250, 10, generator=gen) @ torch.randn(10, 10, generator=gen) + 1).double()
    ca, cb = np.cov(a.numpy().T), np.cov(b.numpy().T)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum().item() + np.trace(ca + cb - 2 * sqrtm(ca @ cb).real)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_grows_with_the_shift():
    gen = torch.Generator().manual_seed(2)
    a = torch.randn(500, 4, generator=gen)
    d = [metrics.frechet_distance(a, a + shift) for shift in (0.5, 1.0, 2.0)]
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
        metrics.frechet_distance(a, b)


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
    hist = metrics.class_histogram(_quadrant_images(quadrants, gen), _PixelClassifier(), num_classes=4)
    assert hist.tolist() == torch.bincount(quadrants, minlength=4).tolist()
    assert hist.dtype == torch.int64


def test_classifier_fid_uses_the_classifier_features():
    gen = torch.Generator().manual_seed(4)
    clf = _PixelClassifier()
    a = _quadrant_images(torch.randint(0, 4, (64,), generator=gen), gen)
    b = _quadrant_images(torch.zeros(64, dtype=torch.long), gen)  # collapsed onto one class
    assert metrics.classifier_fid(a, a, clf) == pytest.approx(0.0, abs=1e-8)
    expected = metrics.frechet_distance(clf.features(a), clf.features(b))
    assert metrics.classifier_fid(a, b, clf) == pytest.approx(expected, rel=1e-6)
    assert metrics.classifier_fid(a, b, clf) > metrics.classifier_fid(a, a[torch.randperm(64, generator=gen)][:32], clf)


def test_classifier_metrics_reject_bad_images():
    clf = _PixelClassifier()
    with pytest.raises(ValueError, match="images"):
        metrics.class_histogram(torch.rand(3, 28, 28), clf)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.class_histogram(torch.rand(3, 1, 28, 28) * 2 - 1, clf, num_classes=4)
    with pytest.raises(ValueError, match="num_classes"):
        metrics.class_histogram(torch.rand(3, 1, 28, 28), clf, num_classes=10)
    with pytest.raises(ValueError, match="num_classes"):
        metrics.class_histogram(torch.rand(3, 1, 28, 28), clf, num_classes=0)
    with pytest.raises(TypeError):
        metrics.classifier_fid(np.zeros((3, 1, 28, 28)), torch.rand(3, 1, 28, 28), clf)
