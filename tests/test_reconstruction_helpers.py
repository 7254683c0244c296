"""The helpers notebook 03 added: the two-sided seed comparison, the classifier FD name, the tanh VAE and its view."""

import math

import torch

from course_utils import claims, config
from course_utils.claims import compare_seeds_two_sided
from course_utils.models import MLPVAE, TanhVAE, UnitPixelView


def test_two_sided_reads_the_direction_from_the_interval(monkeypatch):
    monkeypatch.setattr(config, "FAST", False)
    higher = compare_seeds_two_sided("SSE", "A", [2.0, 2.1, 2.2], "B", [1.0, 1.05, 1.1])
    assert higher.verdict == claims.HOLDS and "A is higher than B" in higher.text
    lower = compare_seeds_two_sided("SSE", "A", [1.0, 1.05, 1.1], "B", [2.0, 2.1, 2.2])
    assert lower.verdict == claims.HOLDS and "A is lower than B" in lower.text
    unclear = compare_seeds_two_sided("SSE", "A", [1.0, 2.0, 1.5], "B", [1.5, 1.0, 2.0])
    assert unclear.verdict == claims.INCONCLUSIVE and "cannot be told apart" in unclear.text
    single = compare_seeds_two_sided("SSE", "A", [3.0], "B", [1.0])   # one seed: an infinite interval
    assert single.verdict == claims.INCONCLUSIVE and math.isinf(single.interval.high)


def test_tanh_vae_starts_like_mlpvae_and_its_view_is_a_sigmoid_of_twice_the_pre_activation():
    torch.manual_seed(3)
    net = TanhVAE()
    torch.manual_seed(3)
    ref = MLPVAE()
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), ref.parameters()))
    view = UnitPixelView(net)
    z = torch.randn(5, 20)
    assert torch.allclose(torch.sigmoid(view.decode_logits(z)), view.decode(z), atol=1e-6)
    x = torch.rand(4, 1, 28, 28)
    recon, mu, logvar = net(x * 2 - 1)
    assert recon.shape == x.shape and mu.shape == logvar.shape == (4, 20)
    assert torch.equal(view.encode(x)[0], net.encode(x * 2 - 1)[0])
    samples = view.sample(6, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (6, 1, 28, 28) and 0 <= samples.min() and samples.max() <= 1
