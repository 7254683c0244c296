"""The course's networks. Every decoder returns *logits*; ``torch.sigmoid`` turns them into pixels.

Why logits: the Bernoulli (BCE) likelihood is computed stably from logits
(``binary_cross_entropy_with_logits``), while a decoder that ends in ``Sigmoid`` followed by
``BCELoss`` saturates and gets clamped at log(0) = -100 (see notebook 03).

Shapes: images are ``(B, 1, 28, 28)`` in [0, 1]; latent codes are ``(B, latent_dim)``.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn

from .checks import check_int

IMAGE_SHAPE = (1, 28, 28)
IMAGE_PIXELS = 28 * 28


def _check_dim(name: str, value: int) -> int:
    return check_int(name, value, low=1)


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """``with evaluating(model):`` eval mode (dropout off, BatchNorm running statistics) and no gradients.

    The model's previous train/eval mode is restored on exit, also when the block raises.

    First used in notebook 01.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def model_device(model: nn.Module) -> torch.device:
    """The device of a module's first parameter (CPU for a module without parameters)."""
    first = next(iter(model.parameters()), None)
    return first.device if first is not None else torch.device("cpu")


def reconstruct(model: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Pixel-space reconstructions ``(N, 1, 28, 28)`` on the CPU, in eval mode (first used in notebook 01).

    An autoencoder's ``model(x)`` logits go through the sigmoid; a VAE decodes its *mean* code ``mu``, so
    the result is deterministic. ``images``: ``(N, 1, 28, 28)`` in [0, 1].
    """
    device = model_device(model)
    out = []
    with evaluating(model):
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            logits = model.decode_logits(model.encode(x)[0]) if isinstance(model, VAE) else model(x)
            out.append(torch.sigmoid(logits).cpu())
    return torch.cat(out)


def _check_images(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected an image tensor, got {type(x).__name__}")
    if x.dim() not in (2, 4) or x[0].numel() != IMAGE_PIXELS:
        raise ValueError(f"images must have shape (B, 1, 28, 28) or (B, 784), got {tuple(x.shape)}")


def _check_codes(z: torch.Tensor, latent_dim: int) -> None:
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"expected a latent tensor, got {type(z).__name__}")
    if z.dim() != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"latent codes must have shape (B, {latent_dim}), got {tuple(z.shape)}")


def mlp(sizes: list[int], final_activation: nn.Module | None = None) -> nn.Sequential:
    """Linear layers of the given widths with ReLU between them (none after the last one)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if final_activation is not None:
        layers.append(final_activation)
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """Deterministic MLP autoencoder: 784 -> hidden -> latent_dim -> hidden -> 784.

    ``encode``: ``(B, 1, 28, 28)`` -> ``(B, latent_dim)``.
    ``decode_logits``: ``(B, latent_dim)`` -> ``(B, 1, 28, 28)`` logits; ``decode`` applies the sigmoid.
    ``forward``: images -> reconstruction logits ``(B, 1, 28, 28)``.

    First used in notebook 01.
    """

    def __init__(self, latent_dim: int = 2, hidden: tuple[int, ...] = (512, 256)):
        super().__init__()
        self.latent_dim = _check_dim("latent_dim", latent_dim)
        hidden = tuple(_check_dim("hidden", h) for h in hidden)
        self.encoder = mlp([IMAGE_PIXELS, *hidden, latent_dim])
        self.decoder = mlp([latent_dim, *reversed(hidden), IMAGE_PIXELS])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x)
        return self.encoder(x.reshape(len(x), -1))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        _check_codes(z, self.latent_dim)
        return self.decoder(z).view(-1, *IMAGE_SHAPE)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode_logits(self.encode(x))


class VAE(nn.Module):
    """Base class of the VAEs: a Gaussian encoder q(z|x) and a decoder p(x|z).

    Subclasses define ``encoder_body`` (images -> features), ``to_mu``/``to_logvar`` heads and
    ``decode_logits``. The heads are plain linear layers: mu and log sigma² may take any real value.

    First used in notebook 02.
    """

    latent_dim: int

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images ``(B, 1, 28, 28)`` -> ``(mu, logvar)``, each ``(B, latent_dim)``."""
        _check_images(x)
        h = self.encoder_body(x.reshape(len(x), *IMAGE_SHAPE))
        return self.to_mu(h), self.to_logvar(h)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I): a sample that gradients can flow through."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent codes ``(B, latent_dim)`` -> pixel means ``(B, 1, 28, 28)`` in (0, 1)."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Images -> ``(logits (B, 1, 28, 28), mu (B, D), logvar (B, D))`` with one sampled z."""
        mu, logvar = self.encode(x)
        return self.decode_logits(self.reparameterize(mu, logvar)), mu, logvar

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` draws from the prior N(0, I): pixel means ``(n, 1, 28, 28)``."""
        _check_dim("n", n)
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        return self.decode(z)


class MLPVAE(VAE):
    """An MLP VAE, 784 -> 400 -> (mu, logvar) of size 20; 20 -> 400 -> 784 (first used in notebook 02).

    These are the widths of the PyTorch examples VAE; Kingma & Welling (2014) used 500 hidden units for MNIST.
    """

    def __init__(self, latent_dim: int = 20, hidden: int = 400):
        super().__init__()
        self.latent_dim = _check_dim("latent_dim", latent_dim)
        _check_dim("hidden", hidden)
        self.encoder_body = nn.Sequential(nn.Flatten(), nn.Linear(IMAGE_PIXELS, hidden), nn.ReLU())
        self.to_mu = nn.Linear(hidden, latent_dim)
        self.to_logvar = nn.Linear(hidden, latent_dim)
        self.decoder = mlp([latent_dim, hidden, IMAGE_PIXELS])

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        _check_codes(z, self.latent_dim)
        return self.decoder(z).view(-1, *IMAGE_SHAPE)


class ConvVAE(VAE):
    """A small convolutional VAE: two stride-2 convolutions down (28 -> 14 -> 7), two transposed up.

    First used in notebook 02.
    """

    def __init__(self, latent_dim: int = 20, channels: int = 32):
        super().__init__()
        self.latent_dim = _check_dim("latent_dim", latent_dim)
        c = _check_dim("channels", channels)
        self.encoder_body = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1), nn.ReLU(),          # (B, c, 14, 14)
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.ReLU(),      # (B, 2c, 7, 7)
            nn.Flatten(), nn.Linear(2 * c * 49, 256), nn.ReLU(),
        )
        self.to_mu = nn.Linear(256, latent_dim)
        self.to_logvar = nn.Linear(256, latent_dim)
        self.decoder_in = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 2 * c * 49), nn.ReLU())
        self.decoder_conv = nn.Sequential(
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1), nn.ReLU(),  # (B, c, 14, 14)
            nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1),                 # (B, 1, 28, 28)
        )
        self._c = c

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        _check_codes(z, self.latent_dim)
        return self.decoder_conv(self.decoder_in(z).view(-1, 2 * self._c, 7, 7))


class ConvAutoencoder(nn.Module):
    """A small convolutional autoencoder: two stride-2 convolutions down (28 -> 14 -> 7), two transposed up.

    ``encode``: ``(B, 1, 28, 28)`` -> ``(B, latent_dim)``; ``forward``: -> pixel *logits* ``(B, 1, 28, 28)``
    (as ``Autoencoder``). A convolution looks at every position with the same small filters, so a stroke
    learnt in one place is recognised in another: the prior an MLP lacks. First used in notebook 07.
    """

    def __init__(self, latent_dim: int = 16, channels: int = 16):
        super().__init__()
        self.latent_dim = _check_dim("latent_dim", latent_dim)
        c = _check_dim("channels", channels)
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c, 3, stride=2, padding=1), nn.ReLU(),           # (B, c, 14, 14)
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.ReLU(),       # (B, 2c, 7, 7)
            nn.Flatten(), nn.Linear(2 * c * 49, latent_dim),
        )
        self.decoder_in = nn.Sequential(nn.Linear(latent_dim, 2 * c * 49), nn.ReLU())
        self.decoder_conv = nn.Sequential(
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1), nn.ReLU(),  # (B, c, 14, 14)
            nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1),                 # (B, 1, 28, 28)
        )
        self._c = c

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x)
        return self.encoder(x.reshape(len(x), *IMAGE_SHAPE))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        _check_codes(z, self.latent_dim)
        return self.decoder_conv(self.decoder_in(z).view(-1, 2 * self._c, 7, 7))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode_logits(self.encode(x))


class MNISTClassifier(nn.Module):
    """A small CNN digit classifier used as a *measuring instrument* (sample quality, Fréchet distance).

    ``forward``: ``(B, 1, 28, 28)`` in [0, 1] -> class logits ``(B, 10)``.
    ``features``: the 128-d penultimate activations ``(B, 128)`` used by the Fréchet distance.
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (B, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 7, 7)
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 49, 128), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.25), nn.Linear(128, num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x)
        return self.body(x.reshape(len(x), *IMAGE_SHAPE))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


# --- GAN: generator and discriminator
# The generator maps noise to pixels in (0, 1) (a sigmoid at the end), the same range as the data,
# so real and generated images go through the discriminator and the classifier unchanged.
# The discriminator returns one *logit* per image; the adversarial losses use
# ``binary_cross_entropy_with_logits`` for the same stability reason as the VAE decoders.


def _check_hidden(hidden: tuple[int, ...]) -> tuple[int, ...]:
    if not isinstance(hidden, (tuple, list)) or len(hidden) == 0:
        raise ValueError(f"hidden must be a non-empty tuple of widths >= 1, got {hidden!r}")
    return tuple(_check_dim("hidden", h) for h in hidden)


class _ImageGenerator(nn.Module):
    """What every GAN generator shares: ``forward`` = sigmoid of the subclass's ``logits(z)``, and ``sample``."""

    latent_dim: int

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(z))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images ``(n, 1, 28, 28)`` from z ~ N(0, I), in eval mode (BatchNorm uses running statistics)."""
        _check_dim("n", n)
        z = torch.randn(n, self.latent_dim, generator=generator).to(model_device(self))
        with evaluating(self):
            return self(z)


class MLPGenerator(_ImageGenerator):
    """G(z): noise ``(B, latent_dim)`` -> images ``(B, 1, 28, 28)`` in (0, 1).

    Linear layers of widths ``hidden`` with LeakyReLU(0.2); BatchNorm after every hidden layer but
    the first when ``batch_norm`` (the classic MLP GAN layout), then ``Linear -> 784`` and a sigmoid.
    ``logits(z)`` returns the pre-sigmoid values ``(B, 1, 28, 28)``.

    First used in notebook 05.
    """

    def __init__(self, latent_dim: int = 100, hidden: tuple[int, ...] = (128, 256, 512, 1024), batch_norm: bool = True):
        super().__init__()
        self.latent_dim = _check_dim("latent_dim", latent_dim)
        hidden = _check_hidden(hidden)
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip((latent_dim, *hidden[:-1]), hidden)):
            layers.append(nn.Linear(n_in, n_out))
            if batch_norm and i > 0:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(nn.LeakyReLU(0.2))
        layers.append(nn.Linear(hidden[-1], IMAGE_PIXELS))
        self.net = nn.Sequential(*layers)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        _check_codes(z, self.latent_dim)
        return self.net(z).view(-1, *IMAGE_SHAPE)


class MLPDiscriminator(nn.Module):
    """D(x): images ``(B, 1, 28, 28)`` (or ``(B, 784)``) in [0, 1] -> one logit per image ``(B,)``.

    ``sigmoid(D(x))`` is the estimated probability that ``x`` is a real image.
    Layout 784 -> 512 -> 256 -> 1 with LeakyReLU(0.2), no sigmoid (the loss takes logits).

    First used in notebook 05.
    """

    def __init__(self, hidden: tuple[int, ...] = (512, 256)):
        super().__init__()
        hidden = _check_hidden(hidden)
        layers: list[nn.Module] = []
        for n_in, n_out in zip((IMAGE_PIXELS, *hidden[:-1]), hidden):
            layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(0.2)]
        layers.append(nn.Linear(hidden[-1], 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x)
        return self.net(x.reshape(len(x), -1)).squeeze(1)


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.'s initialisation, for ``net.apply``: conv and linear weights ~ N(0, 0.02²), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class DCGANGenerator(_ImageGenerator):
    """A small DCGAN generator (Radford, Metz & Chintala 2016): noise ``(B, latent_dim)`` -> ``(B, 1, 28, 28)`` in (0, 1).

    ``z -> Linear -> (B, 2c, 7, 7)``, then two stride-2 transposed convolutions ``7 -> 14 -> 28``, with
    BatchNorm and ReLU after every layer but the last. The paper ends in ``tanh`` for data in [-1, 1]; here a
    sigmoid, so the images share the data's [0, 1] range, as with ``MLPGenerator``. ``logits(z)`` gives the
    pre-sigmoid values ``(B, 1, 28, 28)``. First used in notebook 05.
    """

    def __init__(self, latent_dim: int = 100, channels: int = 32):
        super().__init__()
        self.latent_dim = _check_dim("latent_dim", latent_dim)
        c = _check_dim("channels", channels)
        self.project = nn.Sequential(nn.Linear(latent_dim, 2 * c * 49, bias=False),  # BatchNorm makes a bias redundant
                                     nn.BatchNorm1d(2 * c * 49), nn.ReLU())
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),  # (B, c, 14, 14)
            nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1),                                                 # (B, 1, 28, 28)
        )
        self._c = c
        self.apply(dcgan_init)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        _check_codes(z, self.latent_dim)
        return self.upsample(self.project(z).view(-1, 2 * self._c, 7, 7))


class DCGANDiscriminator(nn.Module):
    """A small DCGAN discriminator: images ``(B, 1, 28, 28)`` in [0, 1] -> one logit per image ``(B,)``.

    Two stride-2 convolutions ``28 -> 14 -> 7`` (no pooling: the network learns its own down-sampling) with
    LeakyReLU(0.2), BatchNorm on the second (never on the input layer), then ``Linear(2c·7·7 -> 1)``.
    First used in notebook 05.
    """

    def __init__(self, channels: int = 32):
        super().__init__()
        c = _check_dim("channels", channels)
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2),                                   # (B, c, 14, 14)
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2),  # (B, 2c, 7, 7)
            nn.Flatten(), nn.Linear(2 * c * 49, 1),
        )
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x)
        return self.net(x.reshape(len(x), *IMAGE_SHAPE)).squeeze(1)


class TanhVAE(nn.Module):
    """A VAE written as common tutorials write it: pixels in [-1, 1] and a decoder that ends in ``tanh``.

    784 -> 400 -> (mu, logvar) of size 20; 20 -> 400 -> 784 -> tanh. The layers ``fc1, fc21, fc22, fc3, fc4`` are
    created in the same order and with the same sizes as ``MLPVAE``'s, so after the same ``torch.manual_seed``
    both start from the same initial weights. ``encode``: ``(B, 1, 28, 28)`` in [-1, 1] -> ``mu, logvar``
    ``(B, latent_dim)``; ``decode``: ``(B, latent_dim)`` -> ``(B, 1, 28, 28)`` in (-1, 1); ``forward`` returns
    ``(reconstruction, mu, logvar)``. Wrap it in ``UnitPixelView`` to measure it in [0, 1] pixel space.

    First used in notebook 03.
    """

    def __init__(self, latent_dim: int = 20, hidden: int = 400):
        super().__init__()
        self.latent_dim = _check_dim("latent_dim", latent_dim)
        _check_dim("hidden", hidden)
        self.fc1 = nn.Linear(IMAGE_PIXELS, hidden)
        self.fc21 = nn.Linear(hidden, latent_dim)    # mean
        self.fc22 = nn.Linear(hidden, latent_dim)    # log variance
        self.fc3 = nn.Linear(latent_dim, hidden)
        self.fc4 = nn.Linear(hidden, IMAGE_PIXELS)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.relu(self.fc1(x.flatten(1)))
        return self.fc21(h), self.fc22(h)

    def pre_tanh(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's output before ``tanh``, ``(B, 1, 28, 28)``."""
        _check_codes(z, self.latent_dim)
        return self.fc4(torch.relu(self.fc3(z))).view(-1, *IMAGE_SHAPE)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.pre_tanh(z))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decode(z), mu, logvar


class UnitPixelView(nn.Module):
    """A ``TanhVAE`` seen from [0, 1] pixel space, with the interface of the course's VAEs.

    ``encode(x)`` takes ``(B, 1, 28, 28)`` in [0, 1] and feeds ``2x - 1``; since ``(tanh(a) + 1) / 2 =
    sigmoid(2a)``, ``decode_logits(z)`` returns the [0, 1] logits ``2a`` and ``decode(z)`` the pixels in (0, 1);
    ``sample(n, generator)`` draws ``z ~ N(0, I)`` on the CPU exactly as ``MLPVAE.sample`` does.

    First used in notebook 03.
    """

    def __init__(self, net: TanhVAE):
        super().__init__()
        self.net, self.latent_dim = net, net.latent_dim

    def encode(self, x01: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.encode(x01 * 2 - 1)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return 2 * self.net.pre_tanh(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return (self.net.decode(z) + 1) / 2

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        z = torch.randn(n, self.latent_dim, generator=generator)
        return self.decode(z.to(next(self.parameters()).device))
