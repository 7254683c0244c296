from __future__ import annotations

import pytest
import torch
from course_utils import models
from course_utils.losses import elbo_loss
from course_utils.models import MLPVAE, VAE, ConvVAE


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


def test_conv_autoencoder_shapes_and_errors():
    ae = models.ConvAutoencoder(latent_dim=5, channels=4)
    x = torch.rand(3, 1, 28, 28)
    assert ae.encode(x).shape == (3, 5) and ae(x).shape == (3, 1, 28, 28)
    assert ae.encode(x.view(3, 784)).shape == (3, 5)  # flat input accepted, as by the MLP autoencoder
    pixels = ae.decode(torch.randn(2, 5))
    assert pixels.shape == (2, 1, 28, 28) and 0 <= pixels.min() and pixels.max() <= 1
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        ae.encode(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"\(B, 5\)"):
        ae.decode(torch.rand(2, 3))


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
        (lambda: models.ConvAutoencoder(latent_dim=0), ValueError, "latent_dim"),
        (lambda: models.ConvAutoencoder(channels=-1), ValueError, "channels"),
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


def test_dcgan_shapes_range_and_sampling():
    g, d = models.DCGANGenerator(latent_dim=6, channels=4), models.DCGANDiscriminator(channels=4)
    z = torch.randn(5, 6) * 10
    images = g(z)
    assert images.shape == (5, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    assert torch.allclose(images, torch.sigmoid(g.logits(z)))
    assert d(images).shape == (5,) and torch.allclose(d(images.view(5, 784)), d(images))
    g.train()
    a, b = (g.sample(3, generator=torch.Generator().manual_seed(1)) for _ in range(2))
    assert a.shape == (3, 1, 28, 28) and torch.equal(a, b) and g.training


def test_dcgan_follows_the_papers_layout_and_initialisation():
    g, d = models.DCGANGenerator(latent_dim=100, channels=32), models.DCGANDiscriminator(channels=32)
    # strided (transposed) convolutions, no pooling; BatchNorm in G and in D but not on D's input layer
    assert not any(isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)) for m in [*g.modules(), *d.modules()])
    assert sum(isinstance(m, torch.nn.ConvTranspose2d) for m in g.modules()) == 2
    assert [type(m) for m in d.net[:2]] == [torch.nn.Conv2d, torch.nn.LeakyReLU]
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    weights = torch.cat([m.weight.flatten() for m in [*g.modules(), *d.modules()]
                         if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear))])
    assert abs(weights.std().item() - 0.02) < 0.002 and abs(weights.mean().item()) < 0.002


def test_dcgan_gradients_reach_the_generator_and_bad_input_is_refused():
    g, d = models.DCGANGenerator(latent_dim=4, channels=2), models.DCGANDiscriminator(channels=2)
    torch.nn.functional.binary_cross_entropy_with_logits(d(g(torch.randn(3, 4))), torch.ones(3)).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in g.parameters())
    with pytest.raises(ValueError, match="latent"):
        g(torch.randn(2, 5))
    with pytest.raises(ValueError, match="images"):
        d(torch.rand(2, 1, 14, 14))
    with pytest.raises(ValueError, match="channels"):
        models.DCGANGenerator(channels=0)
    with pytest.raises(TypeError, match="channels"):
        models.DCGANDiscriminator(channels=1.5)


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


def test_reparameterize_statistics_and_gradients():
    torch.manual_seed(0)
    mu = torch.tensor([[1.0, -2.0]]).repeat(20000, 1).requires_grad_()
    logvar = torch.log(torch.tensor([[0.25, 4.0]])).repeat(20000, 1).requires_grad_()
    z = VAE.reparameterize(mu, logvar)
    assert z.shape == mu.shape
    torch.testing.assert_close(z.mean(0), torch.tensor([1.0, -2.0]), atol=0.05, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([0.5, 2.0]), atol=0.05, rtol=0)
    # d z / d mu = 1 for every sample; d z / d logvar = (z - mu) / 2: gradients flow through the sample.
    z.sum().backward()
    assert torch.equal(mu.grad, torch.ones_like(mu))
    torch.testing.assert_close(logvar.grad, (z.detach() - mu.detach()) / 2)


@pytest.mark.parametrize("model", [MLPVAE(latent_dim=4, hidden=32), ConvVAE(latent_dim=4, channels=4)])
def test_vae_forward_shapes_and_gradient_reaches_encoder(model, images):
    logits, mu, logvar = model(images[:5])
    assert logits.shape == (5, 1, 28, 28) and mu.shape == logvar.shape == (5, 4)
    elbo_loss(logits, images[:5], mu, logvar).loss.backward()
    assert model.to_mu.weight.grad is not None and model.to_mu.weight.grad.abs().sum() > 0
    assert model.to_logvar.weight.grad.abs().sum() > 0


def test_evaluating_switches_off_dropout_and_gradients_and_restores_the_mode_even_on_error():
    from course_utils.models import evaluating

    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5)).train()
    x = torch.ones(2, 4)
    with evaluating(model):
        assert not model.training and not torch.is_grad_enabled()
        assert torch.equal(model(x), model(x))  # no dropout: deterministic
    assert model.training
    with pytest.raises(RuntimeError, match="boom"):
        with evaluating(model):
            raise RuntimeError("boom")
    assert model.training and torch.is_grad_enabled()
    model.eval()
    with evaluating(model):
        pass
    assert not model.training  # an eval-mode model stays in eval mode


def test_reconstruct_decodes_the_mean_code_of_a_vae_and_the_logits_of_an_autoencoder():
    from course_utils.models import MLPVAE, Autoencoder, reconstruct

    torch.manual_seed(0)
    vae, ae = MLPVAE(latent_dim=3, hidden=8), Autoencoder(latent_dim=2, hidden=(8,))
    x = torch.rand(5, 1, 28, 28)
    out = reconstruct(vae, x, batch_size=2)
    with torch.no_grad():
        torch.testing.assert_close(out, torch.sigmoid(vae.decode_logits(vae.encode(x)[0])))
        torch.testing.assert_close(reconstruct(ae, x), torch.sigmoid(ae(x)))
    assert vae.training  # mode restored
