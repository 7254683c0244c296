"""The latent explorer builds headless, its sliders redraw the image, and bad arguments fail clearly."""

from __future__ import annotations

import io

import ipywidgets
import numpy as np
import pytest
import torch
from course_utils.models import MLPVAE, Autoencoder
from course_utils.widgets import (
    LatentExplorer,
    image_to_png,
    latent_explorer,
    render_latent,
    traversal_explorer,
)
from PIL import Image

from conftest import tiny_vae


def decode_png(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_render_latent_matches_decoder_and_keeps_training_flag(vae):
    vae.train()
    z = torch.linspace(-1, 1, 12)
    image = render_latent(vae, z)
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    vae.eval()
    with torch.no_grad():
        expected = vae.decode(z[None])[0, 0].numpy()
    np.testing.assert_allclose(image, expected, atol=1e-6)
    vae.train()
    render_latent(vae, z.tolist())  # a plain list works too
    assert vae.training, "render_latent must restore the model's training flag"


def test_render_latent_bad_input(vae):
    with pytest.raises(ValueError, match="length latent_dim=12"):
        render_latent(vae, torch.zeros(3))
    with pytest.raises(ValueError, match="length latent_dim=12"):
        render_latent(vae, torch.zeros(1, 12))
    with pytest.raises(ValueError, match="finite"):
        render_latent(vae, [float("nan")] * 12)
    with pytest.raises(TypeError, match="latent_dim"):
        render_latent(torch.nn.Linear(2, 784), [0.0, 0.0])


def test_default_sliders_capped_at_ten_and_named(vae):
    w = latent_explorer(vae)
    assert isinstance(w.box, ipywidgets.VBox) and isinstance(w, LatentExplorer)
    assert "course-explorer" in w.box._dom_classes  # the browser test finds explorers by this class
    assert len(w.sliders) == 10
    assert [s.description for s in w.sliders] == [f"z[{i}]" for i in range(10)]
    assert all(isinstance(s, ipywidgets.FloatSlider) for s in w.sliders)
    assert (w.sliders[0].min, w.sliders[0].max, w.sliders[0].step) == (-3.0, 3.0, 0.1)
    assert isinstance(w.image, ipywidgets.Image) and w.image.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_d_model_gets_two_sliders():
    torch.manual_seed(0)
    w = latent_explorer(Autoencoder(latent_dim=2, hidden=(16,)))
    assert [s.description for s in w.sliders] == ["z[0]", "z[1]"]


def test_moving_a_slider_redraws_the_decoded_digit(vae):
    w = latent_explorer(vae, dims=[3, 7], step=0.5)
    before = w.image.value
    w.sliders[1].value = 2.5  # z[7]
    after = w.image.value
    assert after != before
    z = torch.zeros(12)
    z[7] = 2.5
    assert torch.equal(w.latent(), z)
    # The PNG shows exactly render_latent at that setting, enlarged.
    shown = decode_png(after)
    assert shown.shape == (28 * 6, 28 * 6)
    expected = (np.clip(render_latent(vae, z), 0, 1) * 255 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(shown[::6, ::6], expected)
    w.reset()
    assert w.image.value == before


def test_base_vector_sets_start_and_hidden_dims(vae):
    base = torch.arange(12, dtype=torch.float32) / 10
    w = latent_explorer(vae, dims=[0], base=base)
    assert w.sliders[0].value == pytest.approx(0.0)
    w.sliders[0].value = 1.0
    expected = base.clone()
    expected[0] = 1.0
    assert torch.allclose(w.latent(), expected)


def test_traversal_explorer_shares_sliders():
    torch.manual_seed(0)
    a, b = MLPVAE(latent_dim=4, hidden=16), MLPVAE(latent_dim=4, hidden=16)
    w = traversal_explorer({"beta=1": a, "beta=4": b})
    assert list(w.images) == ["beta=1", "beta=4"] and w.image is w.images["beta=1"]
    old = {k: img.value for k, img in w.images.items()}
    w.sliders[0].value = -2.0
    assert all(w.images[k].value != old[k] for k in old)
    assert w.images["beta=1"].value != w.images["beta=4"].value  # different decoders, different digits


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        ({"dims": [12]}, ValueError, r"\[0, 12\)"),
        ({"dims": [-1]}, ValueError, r"\[0, 12\)"),
        ({"dims": []}, ValueError, "at least one"),
        ({"dims": [1, 1]}, ValueError, "repeat"),
        ({"dims": [0.5]}, TypeError, "ints"),
        ({"dims": "01"}, TypeError, "list of ints"),
        ({"value_range": (3, -3)}, ValueError, "low < high"),
        ({"value_range": 3}, TypeError, "pair"),
        ({"step": 0}, ValueError, "step"),
        ({"step": 10}, ValueError, "step"),
        ({"base": torch.zeros(5)}, ValueError, "length latent_dim=12"),
        ({"scale": 0}, ValueError, "scale"),
    ],
)
def test_bad_arguments(vae, kwargs, error, text):
    with pytest.raises(error, match=text):
        latent_explorer(vae, **kwargs)


def test_traversal_explorer_bad_models(vae):
    with pytest.raises(TypeError, match="non-empty dict"):
        traversal_explorer({})
    with pytest.raises(ValueError, match="same latent_dim"):
        traversal_explorer({"a": vae, "b": MLPVAE(latent_dim=3, hidden=8)})


def test_an_explorer_displays_as_its_widget(vae):
    bundle = latent_explorer(vae)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_without_ipywidgets_it_shows_pictures_and_how_to_install(vae, monkeypatch):
    import importlib.util

    from course_utils import config, panels, widgets

    monkeypatch.setattr(panels, "widgets", None)
    w = latent_explorer(vae, dims=[0, 1])
    assert w.sliders == [] and torch.equal(w.latent(), torch.zeros(12))
    bundle = w._repr_mimebundle_()
    assert widgets.INSTALL_HINT in bundle["text/plain"] and "pip install" in bundle["text/plain"]
    assert bundle["text/html"].count("data:image/png;base64,") == 1
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ipywidgets" else real_find_spec(name, *a))
    lines = config.banner().splitlines()
    assert len(lines) == 2 and lines[1] == widgets.INSTALL_HINT


def test_snapshot_draws_every_panel_at_every_setting(vae):
    import matplotlib.pyplot as plt

    w = traversal_explorer({"a": vae, "b": tiny_vae(latent_dim=12, seed=1)}, dims=[0, 1])
    fig = w.snapshot([{"z[0]": -2.0}, {"z[0]": 2.0, "z[1]": 1.0}])
    try:
        images = [ax.images[0].get_array() for ax in fig.axes]
        assert len(images) == 4
        z = torch.zeros(12)
        z[0] = 2.0
        z[1] = 1.0
        np.testing.assert_allclose(images[2], render_latent(vae, z), atol=1e-6)  # row 2, model "a"
        assert fig.axes[2].get_ylabel() == "z[0] = 2, z[1] = 1"
        assert w.latent().abs().sum() == 0, "a snapshot must not move the sliders"
    finally:
        plt.close(fig)
    with pytest.raises(KeyError, match="no slider"):
        w.snapshot([{"z[5]": 1.0}])
    with pytest.raises(TypeError, match="list of dicts"):
        w.snapshot({"z[0]": 1.0})


def test_image_to_png_validates():
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, 3\)"):
        image_to_png(np.zeros((1, 28, 28)))
    colour = decode_png(image_to_png(np.zeros((5, 7, 3), dtype=np.uint8), scale=3))
    assert colour.shape == (15, 21, 3)
    with pytest.raises(ValueError, match="scale"):
        image_to_png(np.zeros((28, 28)), scale=100)
    assert decode_png(image_to_png(np.ones((28, 28)), scale=2)).shape == (56, 56)


def test_a_decoder_that_returns_logits_is_drawn_through_the_sigmoid():
    class LogitDecoder(torch.nn.Module):  # like notebook 01's hand-written autoencoder: no decode()
        latent_dim = 2

        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 784)

        def decode_logits(self, z):
            return self.layer(z).view(-1, 1, 28, 28)

        def forward(self, x):  # an encoder-decoder: calling it on a code would fail
            raise AssertionError("render_latent must not call the model on a code")

    torch.manual_seed(0)
    model = LogitDecoder()
    with torch.no_grad():
        expected = torch.sigmoid(model.decode_logits(torch.tensor([[0.5, -1.0]])))[0, 0].numpy()
    np.testing.assert_allclose(render_latent(model, [0.5, -1.0]), expected, atol=1e-6)
