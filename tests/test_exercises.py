"""``forbid``: a solution that calls the reference it should write fails with a clear message; nothing leaks."""

import pytest
import torch
from course_utils import data, image_metrics, noise
from course_utils.checks import ArgumentError
from course_utils.exercises import ShortcutUsed, forbid
from course_utils.image_metrics import psnr
from course_utils.noise import salt_and_pepper


def test_a_shortcut_through_the_notebook_name_or_the_module_is_refused():
    namespace = {"psnr": psnr, "salt_and_pepper": salt_and_pepper}
    a, b = torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28)

    def lazy_psnr(x, y):
        return namespace["psnr"](x, y)

    def sneaky_psnr(x, y):
        from course_utils.image_metrics import psnr as reference  # imported at call time

        return reference(x, y)

    def sneaky_noise(x):
        return data.salt_and_pepper(x, 0.1) if hasattr(data, "salt_and_pepper") else noise.salt_and_pepper(x, 0.1)

    def honest_psnr(x, y):
        return 10 * torch.log10(1 / (x - y).pow(2).flatten(1).mean(1))

    with forbid(namespace, "psnr", "salt_and_pepper"):
        for shortcut, args in ((lazy_psnr, (a, b)), (sneaky_psnr, (a, b)), (sneaky_noise, (a,))):
            with pytest.raises(ShortcutUsed, match=r"write this one yourself: .*(psnr|salt_and_pepper)\(\)"):
                shortcut(*args)
        honest = honest_psnr(a, b)
    assert torch.allclose(honest, psnr(a, b), atol=1e-5)
    # Everything is back, even after an error inside the block.
    with pytest.raises(ShortcutUsed):
        with forbid(namespace, "psnr"):
            lazy_psnr(a, b)
    assert namespace["psnr"] is psnr and image_metrics.psnr is psnr and noise.salt_and_pepper is salt_and_pepper


def test_dotted_attributes_are_refused_too():
    normal = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    with forbid({}, attributes=("torch.distributions.Normal.log_prob", "torch.distributions.kl_divergence")):
        with pytest.raises(ShortcutUsed, match="log_prob"):
            normal.log_prob(torch.zeros(3))
        with pytest.raises(ShortcutUsed, match="kl_divergence"):
            torch.distributions.kl_divergence(normal, normal)
    assert torch.allclose(normal.log_prob(torch.zeros(3)), torch.full((3,), -0.9189385), atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ArgumentError, match="globals"):
        with forbid([], "psnr"):
            pass
    with pytest.raises(ArgumentError, match="'nothing' is not"):
        with forbid({}, "nothing"):
            pass
    with pytest.raises(ArgumentError, match="dotted paths"):
        with forbid({}, attributes=("psnr",)):
            pass
    with pytest.raises(ArgumentError, match="does not exist"):
        with forbid({}, attributes=("torch.nn.functional.no_such_loss",)):
            pass
