"""The local yardstick for holes in a code space (course_utils.explorers, notebook 01)."""

import math

import pytest
import torch

from course_utils.checks import ArgumentError
from course_utils.explorers import local_code_space_explorer, local_hole_ratio, nearest_other_distance, typical_spacing
from course_utils.models import Autoencoder


def _two_clusters():
    gen = torch.Generator().manual_seed(0)
    dense = torch.rand(400, 2, generator=gen) * 0.2            # spacing about 0.005
    sparse = torch.rand(40, 2, generator=gen) * 4 + 10          # spacing about 0.3
    return torch.cat([dense, sparse])


def test_nearest_other_distance_excludes_the_code_itself():
    codes = torch.tensor([[0.0, 0.0], [3.0, 4.0], [3.0, 5.0]])
    assert torch.allclose(nearest_other_distance(codes, chunk=2), torch.tensor([5.0, 1.0, 1.0]))


def test_local_ratio_is_zero_on_a_code_and_scale_free():
    codes = _two_clusters()
    points = torch.tensor([[0.1, 0.1], [12.0, 12.0], [5.0, 5.0]])
    r = local_hole_ratio(points, codes, k=5)
    assert r.shape == (3,)
    assert local_hole_ratio(codes[:3], codes, k=5).abs().max() == 0
    assert torch.allclose(local_hole_ratio(points * 7, codes * 7, k=5), r, rtol=1e-5)


def test_a_point_inside_a_sparse_cluster_is_no_hole_locally_but_is_one_globally():
    codes = _two_clusters()
    inside_sparse = torch.tensor([[12.0, 12.0]])
    assert local_hole_ratio(inside_sparse, codes, k=5).item() < 3
    global_ratio = torch.cdist(inside_sparse, codes).min().item() / typical_spacing(codes)
    assert global_ratio > 3
    assert local_hole_ratio(torch.tensor([[5.0, 5.0]]), codes, k=5).item() > 3  # the gap between the clusters


def test_bad_arguments():
    codes = _two_clusters()
    with pytest.raises(ArgumentError):
        local_hole_ratio(torch.zeros(3, 3), codes)
    with pytest.raises(ArgumentError):
        local_hole_ratio(torch.zeros(3, 2), codes, k=0)
    with pytest.raises(ArgumentError):
        nearest_other_distance(torch.zeros(1, 2))


def test_local_explorer_status_uses_the_local_yardstick():
    torch.manual_seed(0)
    model = Autoencoder(latent_dim=2, hidden=(16, 8))
    codes, labels = _two_clusters(), torch.arange(440) % 10
    explorer = local_code_space_explorer(model, codes, labels, reference=440, k=5)
    text = explorer._status_text({"z[0]": 12.0, "z[1]": 12.0})
    assert "spacing of the codes near it" in text and "among the training codes" in text
    assert "in a hole" in explorer._status_text({"z[0]": 5.0, "z[1]": 5.0})
    assert math.isfinite(explorer.last_redraw_s)
