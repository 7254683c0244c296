"""Tests of the anomaly-detection helpers in ``course_utils.metrics`` (notebook 07)."""

import itertools

import numpy as np
import pytest
import torch
from course_utils import anomaly, losses, models
from course_utils.anomaly import auroc, nelbo_scores, reconstruction_scores, roc_curve
from course_utils.likelihoods import importance_log_likelihood, vae_nelbo


def pairwise_auroc(scores, labels):
    """AUROC by counting pairs (anomaly, normal): wins + ties / 2, over all pairs. Independent of sklearn."""
    pos = [s for s, a in zip(scores, labels) if a]
    neg = [s for s, a in zip(scores, labels) if not a]
    wins = sum((p > n) + 0.5 * (p == n) for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auroc_matches_pair_counting_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=60).astype(float)  # many ties on purpose
    labels = rng.random(60) < 0.4
    assert auroc(scores, labels) == pytest.approx(pairwise_auroc(scores, labels))


def test_auroc_extremes_and_symmetry():
    labels = torch.tensor([0, 0, 0, 1, 1])
    scores = torch.tensor([0.1, 0.2, 0.3, 0.8, 0.9])
    assert auroc(scores, labels) == 1.0
    assert auroc(-scores, labels) == 0.0
    rng = np.random.default_rng(1)
    s, y = rng.normal(size=50), rng.random(50) < 0.5
    assert auroc(s, y) + auroc(-s, y) == pytest.approx(1.0)


def test_roc_curve_is_monotone_and_its_area_is_the_auroc():
    rng = np.random.default_rng(2)
    y = rng.random(200) < 0.3
    s = rng.normal(size=200) + 1.5 * y
    fpr, tpr, thr = roc_curve(s, y)
    assert len(fpr) == len(tpr) == len(thr)
    assert fpr[0] == 0 and tpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1
    assert (np.diff(fpr) >= 0).all() and (np.diff(tpr) >= 0).all()
    area = np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)  # trapezoids
    assert area == pytest.approx(auroc(s, y))
    # The definition of a point: flagging scores >= threshold gives that false-positive rate.
    i = len(thr) // 2
    assert np.mean(s[~y] >= thr[i]) == pytest.approx(fpr[i])
    assert np.mean(s[y] >= thr[i]) == pytest.approx(tpr[i])


@pytest.mark.parametrize(
    "scores, labels, error",
    [
        ([0.1, 0.2, 0.3], [0, 1], ValueError),               # lengths differ
        ([0.1, 0.2, 0.3], [1, 1, 1], ValueError),            # one class only
        ([0.1, float("nan"), 0.3], [0, 1, 0], ValueError),   # NaN score
        ([0.1, float("inf"), 0.3], [0, 1, 0], ValueError),   # inf score
        ([0.1, 0.2, 0.3], [0, 2, 1], ValueError),            # labels not 0/1
        ([[0.1, 0.2]], [[0, 1]], ValueError),                # not one-dimensional
        ("abc", [0, 1, 0], TypeError),
        (["a", "b"], [0, 1], TypeError),
    ],
)
def test_auroc_rejects_bad_input(scores, labels, error):
    with pytest.raises(error):
        auroc(scores, labels)
    with pytest.raises(error):
        roc_curve(scores, labels)


def test_reconstruction_scores_match_the_loss_per_image():
    torch.manual_seed(0)
    ae = models.Autoencoder(latent_dim=3, hidden=(16,))
    x = torch.rand(7, 1, 28, 28)
    for kind in ("mse", "bce", "l1"):
        expected = losses.reconstruction_loss(ae(x), x, kind, "none").detach()
        got = reconstruction_scores(ae, x, kind, batch_size=3)  # several chunks
        assert got.shape == (7,) and torch.allclose(got, expected, atol=1e-5)
    assert ae.training  # the training flag is restored


def test_reconstruction_scores_of_a_vae_decode_the_mean_code():
    torch.manual_seed(0)
    vae = models.MLPVAE(latent_dim=4, hidden=32).eval()
    x = torch.rand(5, 1, 28, 28)
    a = reconstruction_scores(vae, x, "bce")
    b = reconstruction_scores(vae, x, "bce")
    assert torch.equal(a, b)  # deterministic: no sampling
    expected = losses.reconstruction_loss(vae.decode_logits(vae.encode(x)[0]), x, "bce", "none").detach()
    assert torch.allclose(a, expected, atol=1e-5)


def test_nelbo_scores_average_to_vae_nelbo_and_bound_the_likelihood():
    torch.manual_seed(0)
    vae = models.MLPVAE(latent_dim=4, hidden=32)
    x = (torch.rand(40, 1, 28, 28) > 0.7).float()
    scores = nelbo_scores(vae, x, samples=1, generator=torch.Generator().manual_seed(3))
    mean = vae_nelbo(vae, x, generator=torch.Generator().manual_seed(3))["nelbo"]
    assert scores.shape == (40,) and scores.mean().item() == pytest.approx(mean, rel=1e-4)
    # Many samples: the -ELBO sits above -log p(x) estimated with many importance samples.
    many = nelbo_scores(vae, x, samples=50, generator=torch.Generator().manual_seed(4))
    nll = -importance_log_likelihood(vae, x, k=200, generator=torch.Generator().manual_seed(5))
    assert (many.mean() > nll.mean()).item()


@pytest.mark.parametrize("kwargs", [{"kind": "ce"}, {"batch_size": 0}])
def test_reconstruction_scores_reject_bad_arguments(kwargs):
    ae = models.Autoencoder(latent_dim=2, hidden=(8,))
    with pytest.raises(ValueError):
        reconstruction_scores(ae, torch.rand(2, 1, 28, 28), **kwargs)


def test_scores_reject_bad_images_and_models():
    ae = models.Autoencoder(latent_dim=2, hidden=(8,))
    vae = models.MLPVAE(latent_dim=2, hidden=8)
    with pytest.raises(ValueError):
        reconstruction_scores(ae, torch.rand(2, 784))           # wrong shape
    with pytest.raises(ValueError):
        reconstruction_scores(ae, 2 * torch.rand(2, 1, 28, 28))  # outside [0, 1]
    with pytest.raises(TypeError):
        reconstruction_scores("model", torch.rand(2, 1, 28, 28))
    with pytest.raises(TypeError):
        nelbo_scores(ae, torch.rand(2, 1, 28, 28))              # not a VAE
    with pytest.raises(ValueError):
        nelbo_scores(vae, torch.rand(2, 1, 28, 28), samples=0)


def test_a_trained_autoencoder_scores_a_foreign_pattern_higher():
    """Real behaviour: after a little training, images unlike the training set get larger errors."""
    from course_utils.train import fit

    torch.manual_seed(0)
    normal = torch.zeros(64, 1, 28, 28)
    normal[:, :, 10:18, 10:18] = 1.0             # a centred square
    foreign = torch.zeros(16, 1, 28, 28)
    foreign[:, :, :, :4] = 1.0                   # a bar on the left edge
    ae = models.Autoencoder(latent_dim=2, hidden=(32,))
    fit(ae, lambda m, b: losses.reconstruction_loss(m(b[0]), b[0], "bce"), normal, steps=120,
        batch_size=16, device="cpu", progress=False)
    x = torch.cat([normal[:16], foreign])
    labels = torch.arange(32) >= 16
    assert auroc(reconstruction_scores(ae, x), labels) > 0.9


def test_auroc_draws_match_the_auroc_of_each_resample():
    from course_utils.intervals import bootstrap_indices
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(60), np.ones(40)].astype(bool)
    scores = rng.normal(size=100) + labels
    scores[:10] = scores[60:70] = 0.5                   # ties across the two classes
    idx = bootstrap_indices(100, resamples=20, seed=1, strata=labels.astype(int))
    draws = anomaly.auroc_draws(scores, labels, idx)
    assert draws.shape == (20,)
    assert np.allclose(draws, [anomaly.auroc(scores[i], labels[i]) for i in idx])
    assert anomaly.auroc_draws(scores, labels, np.arange(100)[None])[0] == pytest.approx(anomaly.auroc(scores, labels))
    with pytest.raises(ValueError, match="indices"):
        anomaly.auroc_draws(scores, labels, np.array([[0, 100]]))
    with pytest.raises(ValueError, match="normal and anomalous"):
        anomaly.auroc_draws(scores, labels, np.zeros((2, 5), dtype=int))
