import pytest
import torch

from course_utils import models


@pytest.mark.parametrize("latent", [2, 8])
def test_autoencoder_shapes(latent):
    ae = models.Autoencoder(latent_dim=latent, hidden=(64,))
    x = torch.rand(5, 1, 28, 28)
    z = ae.encode(x)
    assert z.shape == (5, latent)
    assert ae(x).shape == (5, 1, 28, 28)
    pixels = ae.decode(z)
    assert pixels.shape == (5, 1, 28, 28) and pixels.min() >= 0 and pixels.max() <= 1
    assert ae.encode(x.view(5, 784)).shape == (5, latent)  # flat input accepted


@pytest.mark.parametrize("cls", [models.MLPVAE, models.ConvVAE])
def test_vae_shapes_and_sampling(cls):
    vae = cls(latent_dim=4)
    x = torch.rand(3, 1, 28, 28)
    logits, mu, logvar = vae(x)
    assert logits.shape == (3, 1, 28, 28) and mu.shape == (3, 4) and logvar.shape == (3, 4)
    samples = vae.sample(6, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (6, 1, 28, 28) and 0 <= samples.min() and samples.max() <= 1


def test_vae_heads_can_be_negative():
    # The seed-001 bug: a ReLU on the mu/sigma head forces them >= 0. Ours is linear.
    torch.manual_seed(0)
    mu, logvar = models.MLPVAE().encode(torch.rand(64, 1, 28, 28))
    assert (mu < 0).any() and (logvar < 0).any()


def test_reparameterize_is_differentiable_and_has_right_moments():
    mu = torch.full((20000, 1), 2.0, requires_grad=True)
    logvar = torch.full((20000, 1), 2 * torch.log(torch.tensor(0.5)).item(), requires_grad=True)
    torch.manual_seed(0)
    z = models.VAE.reparameterize(mu, logvar)
    assert abs(z.mean().item() - 2.0) < 0.02 and abs(z.std().item() - 0.5) < 0.02
    z.sum().backward()
    assert mu.grad is not None and torch.allclose(mu.grad, torch.ones_like(mu))
    assert logvar.grad is not None and logvar.grad.abs().sum() > 0


def test_classifier_shapes():
    clf = models.MNISTClassifier()
    x = torch.rand(4, 1, 28, 28)
    assert clf(x).shape == (4, 10) and clf.features(x).shape == (4, 128)


@pytest.mark.parametrize(
    "make, err, match",
    [
        (lambda: models.Autoencoder(latent_dim=0), ValueError, "latent_dim"),
        (lambda: models.Autoencoder(latent_dim=2.0), TypeError, "latent_dim"),
        (lambda: models.MLPVAE(hidden=-4), ValueError, "hidden"),
        (lambda: models.ConvVAE(channels=0), ValueError, "channels"),
    ],
)
def test_bad_constructor_arguments(make, err, match):
    with pytest.raises(err, match=match):
        make()


def test_bad_input_shapes_give_clear_errors():
    ae = models.Autoencoder(latent_dim=2, hidden=(16,))
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        ae.encode(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        ae.decode(torch.rand(2, 3))
    with pytest.raises(TypeError, match="image tensor"):
        ae.encode([[0.0] * 784])
    with pytest.raises(ValueError, match="n must be >= 1"):
        models.MLPVAE().sample(0)
