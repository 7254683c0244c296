"""course_utils.gan_eval: block means, confident classes, the sample report and the FD-difference interval."""

import pytest
import torch

from course_utils.checks import ArgumentError
from course_utils.gan_eval import block_means, confident_classes, fd_difference_interval


def test_block_means_average_consecutive_steps_and_keep_the_remainder():
    out = block_means({"a": [1.0, 3.0, 5.0, 7.0, 9.0]}, blocks=2)
    assert out["step"] == [2.0, 4.0, 5.0]
    assert out["a"] == [2.0, 6.0, 9.0]


def test_block_means_rejects_unequal_logs():
    with pytest.raises(ArgumentError):
        block_means({"a": [1.0, 2.0], "b": [1.0]})


class _Fixed(torch.nn.Module):
    """A 'classifier' whose logits are the first ten pixels: the test controls its confidence."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))   # gives the module a device

    def forward(self, x):
        return x.flatten(1)[:, :10] * 50


def test_confident_classes_counts_only_sure_calls():
    images = torch.zeros(4, 1, 28, 28)
    images[0, 0, 0, 3] = 1.0      # a sure "3"
    images[1, 0, 0, 3] = 1.0      # another sure "3"
    images[2, 0, 0, 5] = 1.0      # a sure "5"
    out = confident_classes(images, _Fixed())   # image 3 is all zeros: ten equal logits, not confident
    assert out["confident count"] == 3 and out["confident share"] == 0.75
    assert abs(out["largest share among confident"] - 2 / 3) < 1e-9


def test_fd_difference_interval_sees_which_set_is_farther():
    gen = torch.Generator().manual_seed(0)
    ref, near, far = torch.randn(3, 200, 4, generator=gen)
    far = far + 3.0
    interval = fd_difference_interval(far, near, ref, resamples=50, seed=0)
    assert interval.low > 0 and interval.estimate > 5


def test_fd_difference_interval_needs_equal_sizes():
    with pytest.raises(ArgumentError):
        fd_difference_interval(torch.randn(10, 3), torch.randn(9, 3), torch.randn(10, 3))
