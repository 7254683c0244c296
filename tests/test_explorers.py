"""The notebooks' explorers: what each panel shows, that sliders redraw it in under 50 ms, and clear errors."""

from __future__ import annotations

import io
import math
import statistics

import numpy as np
import pytest
import torch
from course_utils.checks import ArgumentError
from course_utils.explorers import (
    code_space_explorer,
    denoising_explorer,
    latent_walk_explorer,
    slerp,
    threshold_explorer,
    typical_spacing,
)
from course_utils.image_metrics import psnr
from course_utils.models import Autoencoder, MLPGenerator
from course_utils.noise import median_filter
from course_utils.panels import Explorer, PlotCanvas
from course_utils.widgets import render_latent
from PIL import Image

from conftest import random_images, tiny_vae

REDRAW_LIMIT_S = 0.050  # a slider must feel instant: decode + render + PNG within 50 ms on a CPU


def shown(image_widget) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(image_widget.value)))


def median_redraw_s(explorer: Explorer, name: str, values) -> float:
    """Median wall time of the redraws caused by setting slider ``name`` to each of ``values``."""
    slider = explorer.slider(name)
    slider.value = values[0]  # warm up (first call pays one-off costs)
    times = []
    for value in values[1:]:
        slider.value = value
        times.append(explorer.last_redraw_s)
    return statistics.median(times)


@pytest.fixture(scope="module")
def ae2():
    torch.manual_seed(0)
    return Autoencoder(latent_dim=2, hidden=(64,))


@pytest.fixture(scope="module")
def codes():
    """60,000 codes in two clusters (as many as the full MNIST's training codes), labels 0 and 1."""
    g = torch.Generator().manual_seed(0)
    z = torch.randn(60_000, 2, generator=g) * 0.3
    labels = torch.arange(60_000) % 2
    z[labels == 1] += torch.tensor([3.0, 0.0])
    return z, labels


# ----------------------------------------------------------------------------- the plot canvas


def test_plot_canvas_marks_the_data_point_it_is_given():
    canvas = PlotCanvas(lambda ax: (ax.set_xlim(0, 10), ax.set_ylim(0, 10)))
    col_lo, row_lo = canvas.to_pixel(0, 0)
    col_hi, row_hi = canvas.to_pixel(10, 10)
    assert col_hi > col_lo and row_hi < row_lo, "x grows to the right, y grows upwards on the picture"
    marked = canvas.marked(5, 5)
    changed = np.argwhere((marked != canvas.pixels).any(axis=-1))
    centre = changed.mean(axis=0)
    assert centre == pytest.approx([(row_lo + row_hi) / 2, (col_lo + col_hi) / 2], abs=1.5)
    assert (canvas.marked(100, 5) != canvas.pixels).any(), "a point off the plot is pinned to its edge, not lost"


# ----------------------------------------------------------------------------- 01: code space


def test_code_space_explorer_decodes_the_point_and_finds_holes(ae2, codes):
    z, labels = codes
    w = code_space_explorer(ae2, z, labels)
    assert [s.description for s in w.sliders] == ["z[0]", "z[1]"]
    low, high = z.min(0).values, z.max(0).values
    assert w.slider("z[0]").min < low[0] and w.slider("z[0]").max > high[0], "the sliders reach past the codes"
    w.slider("z[0]").value, w.slider("z[1]").value = 0.0, 0.0  # the centre of cluster 0
    assert "a 0 at distance" in w.status.value and "among the training codes" in w.status.value
    decoded = shown(w.images["decoded"])[::6, ::6]
    expected = (render_latent(ae2, [0.0, 0.0]) * 255 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(decoded, expected)
    w.slider("z[0]").value = 1.5  # between the clusters, five standard deviations from either
    assert "in a hole" in w.status.value
    spacing = typical_spacing(z)
    assert 0 < spacing < 0.05, "60,000 codes in two tight clusters are closely spaced"


def test_code_space_explorer_redraws_within_the_limit(ae2, codes):
    w = code_space_explorer(*[ae2, *codes])
    assert median_redraw_s(w, "z[0]", np.linspace(-1, 4, 12).tolist()) < REDRAW_LIMIT_S


def test_code_space_explorer_bad_input(ae2, codes):
    z, labels = codes
    with pytest.raises(ArgumentError, match="latent_dim == 2"):
        code_space_explorer(tiny_vae(latent_dim=3), z, labels)
    with pytest.raises(ArgumentError, match=r"codes must be a tensor \(N, 2\)"):
        code_space_explorer(ae2, z[:, :1], labels)
    with pytest.raises(ArgumentError, match=r"labels must have shape \(60000,\)"):
        code_space_explorer(ae2, z, labels[:10])
    with pytest.raises(ArgumentError, match="finite"):
        code_space_explorer(ae2, torch.full((5, 2), float("nan")), torch.zeros(5))
    with pytest.raises(ArgumentError, match=r"margin must be a number in \[0, 1\]"):
        code_space_explorer(ae2, z, labels, margin=2)


# ----------------------------------------------------------------------------- 05: latent walks


def test_slerp_keeps_the_length_of_prior_samples():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 100, generator=g)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-5) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    middle_arc, middle_line = slerp(a, b, 0.5).norm(), ((a + b) / 2).norm()
    assert middle_arc > 0.9 * min(a.norm(), b.norm()), "the arc stays as long as its ends"
    assert middle_line < 0.8 * min(a.norm(), b.norm()), "the straight line's middle is short (about 1/sqrt(2))"


def test_latent_walk_explorer_walks_each_model_from_a_to_b():
    torch.manual_seed(0)
    gan, vae = MLPGenerator(latent_dim=100, hidden=(32, 64)), tiny_vae(latent_dim=20)
    w = latent_walk_explorer({"GAN": gan, "VAE": vae}, directions=2, seed=3)
    assert [s.description for s in w.sliders] == ["a → b", "direction 1", "direction 2"]
    start = {k: img.value for k, img in w.images.items()}
    w.slider("t").value = 1.0
    assert all(w.images[k].value != start[k] for k in start)
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(2, 20, generator=g)
    expected = (render_latent(vae, b) * 255 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(shown(w.images["VAE"])[::6, ::6], expected)
    assert w.captions["VAE"].value == f"|z| / √D = {float(b.norm()) / math.sqrt(20):.2f}"
    w.slider("s1").value = 2.0
    assert w.images["GAN"].value != start["GAN"]
    assert median_redraw_s(w, "t", np.linspace(0, 1, 12).tolist()) < REDRAW_LIMIT_S


def test_latent_walk_explorer_bad_input(vae):
    with pytest.raises(ArgumentError, match="non-empty dict"):
        latent_walk_explorer({})
    with pytest.raises(ValueError, match=r"directions must be .*\[0, 8\]"):
        latent_walk_explorer({"a": vae}, directions=9)
    with pytest.raises(ArgumentError, match="'slerp' or 'linear'"):
        latent_walk_explorer({"a": vae}, path="spline")
    with pytest.raises(TypeError, match="latent_dim"):
        latent_walk_explorer({"a": torch.nn.Linear(2, 784)})


# ----------------------------------------------------------------------------- 06: denoising


def test_denoising_explorer_shows_each_output_with_its_psnr():
    clean = random_images(6, seed=2, binary=True)
    w = denoising_explorer(clean, {"median 3×3": median_filter, "identity": lambda x: x.clone()}, seed=1)
    assert list(w.images) == ["clean", "noisy", "median 3×3", "identity"]
    assert [s.description for s in w.sliders] == ["digit", "salt & pepper p", "Gaussian σ"]
    w.slider("p").value = 0.0
    assert w.captions["noisy"].value == "PSNR ∞ (identical)" and w.captions["identity"].value == "PSNR ∞ (identical)"
    w.slider("index").value = 3
    w.slider("p").value = 0.3
    noisy = torch.as_tensor(shown(w.images["noisy"])[::5, ::5] / 255.0).float()[None, None]
    expected_median = median_filter(noisy)
    assert w.captions["median 3×3"].value == f"PSNR {float(psnr(expected_median, clean[3:4])[0]):.1f} dB"
    assert w.captions["noisy"].value == f"PSNR {float(psnr(noisy, clean[3:4])[0]):.1f} dB"


def test_denoising_noise_grows_the_same_pattern():
    clean = torch.zeros(2, 1, 28, 28)
    w = denoising_explorer(clean, {"median 3×3": median_filter})
    hit = {}
    for p in (0.1, 0.2, 0.4):
        w.slider("p").value = p
        hit[p] = shown(w.images["noisy"])[::5, ::5] > 127  # salt on a black digit
    assert (hit[0.1] <= hit[0.2]).all() and (hit[0.2] <= hit[0.4]).all(), "pixels hit at p stay hit at a larger p"
    assert hit[0.1].sum() < hit[0.4].sum()


def test_denoising_explorer_runs_models_and_redraws_within_the_limit():
    torch.manual_seed(0)
    dae = Autoencoder(latent_dim=16, hidden=(256,))
    w = denoising_explorer(random_images(20), {"median 3×3": median_filter, "denoising AE": dae})
    assert w.captions["denoising AE"].value.startswith("PSNR ")
    assert median_redraw_s(w, "p", np.linspace(0, 0.8, 12).tolist()) < REDRAW_LIMIT_S
    assert median_redraw_s(w, "index", list(range(12))) < REDRAW_LIMIT_S


def test_denoising_explorer_bad_input():
    with pytest.raises(ArgumentError, match="non-empty dict"):
        denoising_explorer(random_images(3), {})
    with pytest.raises(ArgumentError, match="a model or a function"):
        denoising_explorer(random_images(3), {"x": 3})
    with pytest.raises(ArgumentError, match=r"max_p must be a number in \(0, 1\]"):
        denoising_explorer(random_images(3), {"m": median_filter}, max_p=1.5)
    with pytest.raises(ValueError, match="images"):
        denoising_explorer(torch.rand(3, 28, 28), {"m": median_filter})


# ----------------------------------------------------------------------------- 07: thresholds


@pytest.fixture(scope="module")
def scored():
    g = torch.Generator().manual_seed(0)
    is_anomaly = torch.arange(2000) % 10 == 0
    scores = torch.randn(2000, generator=g) + 1.5 * is_anomaly
    return scores, is_anomaly, torch.rand(2000, 1, 28, 28, generator=g)


def test_threshold_explorer_counts_and_worst_mistakes(scored):
    scores, is_anomaly, images = scored
    w = threshold_explorer(scores, is_anomaly, images, worst=4)
    normal = scores[~is_anomaly]
    assert w.slider("threshold").value == pytest.approx(float(torch.quantile(normal.double(), 0.95)), abs=1e-9)
    w.slider("threshold").value = 1.0
    flagged = scores >= w.slider("threshold").value
    caught, false_alarms = int((flagged & is_anomaly).sum()), int((flagged & ~is_anomaly).sum())
    assert f"caught <b>{caught} of 200</b>" in w.status.value
    assert f"<b>{false_alarms} false alarms</b> among 1800" in w.status.value
    # The worst false alarm is the normal digit with the highest score, drawn first (scale 3).
    worst = int(torch.nonzero(~is_anomaly).flatten()[normal.argmax()])
    first = shown(w.images["worst false alarms"])[:84:3, :84:3] / 255.0
    np.testing.assert_allclose(first, images[worst, 0].numpy(), atol=1 / 255 + 1e-6)
    w.slider("threshold").value = w.slider("threshold").max
    assert w.captions["worst false alarms"].value.startswith("0 shown") or "1 shown" in w.captions["worst false alarms"].value
    assert median_redraw_s(w, "threshold", np.linspace(-2, 3, 12).tolist()) < REDRAW_LIMIT_S


def test_threshold_operating_point_moves_along_the_roc_curve(scored):
    w = threshold_explorer(*scored)
    low = shown(w.images["operating point"]).copy()
    w.slider("threshold").value = w.slider("threshold").min  # everything flagged: the top-right corner
    high = shown(w.images["operating point"])
    changed_low = np.argwhere((low != high).any(axis=-1))
    assert len(changed_low) > 0


def test_threshold_explorer_bad_input(scored):
    scores, is_anomaly, images = scored
    with pytest.raises(ValueError, match="both"):
        threshold_explorer(scores, torch.zeros(2000, dtype=torch.bool), images)
    with pytest.raises(ArgumentError, match="one digit per score"):
        threshold_explorer(scores, is_anomaly, images[:10])
    with pytest.raises(ValueError, match=r"worst must be .*\[1, 12\]"):
        threshold_explorer(scores, is_anomaly, images, worst=0)
