"""Explorers: sliders above pictures that redraw whenever a slider moves.

``Explorer`` is the one widget every notebook's explorer is built from: a row of sliders (``Slider``
specs), a row of ``Panel`` s (each a function from the slider values to an image, with an optional
caption under it) and an optional status line. ``latent_explorer(model)`` and
``traversal_explorer({"beta=1": a, "beta=4": b})`` are explorers whose sliders are latent coordinates;
``course_utils.explorers`` holds the others (code space, latent walks, denoising, thresholds).

An explorer is built without a display, so tests can move a slider and read the PNG bytes shown::

    w = latent_explorer(vae)
    w.sliders[3].value = 2.0       # z[3] = 2, the image redraws itself
    png = w.image.value            # bytes of the PNG now shown

In a notebook, ``display(w)`` (or ``w`` as a cell's last line) shows the sliders. Without a widget
front end (nbconvert, nbval, a terminal) it builds and redraws all the same. Without ``ipywidgets``
installed it shows its starting pictures and one line saying how to install it (``INSTALL_HINT``).

A *model* for the latent explorers is anything with an integer ``latent_dim`` and a ``decode(z)``
method mapping ``(B, latent_dim)`` codes to pixel values ``(B, 1, 28, 28)`` in [0, 1] (the course's
VAEs and autoencoders), or a ``decode_logits(z)`` method (the sigmoid is applied). Objects with neither
are called directly, ``model(z)`` (the GAN generator).
"""

from __future__ import annotations

import base64
import io
import math
import re
import textwrap
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence, Union

import numpy as np
import torch
from PIL import Image

from .checks import check_int
from .models import evaluating, model_device

try:  # the sliders need ipywidgets; everything else here works without it
    import ipywidgets as widgets
except ImportError:  # pragma: no cover - exercised by a test that hides the module
    widgets = None

from .config import WIDGETS_HINT as INSTALL_HINT  # noqa: E402 (one wording, also used by banner())
MAX_DEFAULT_SLIDERS = 10  # more sliders than this do not fit on a screen; pass dims= to choose others
CSS_CLASS = "course-explorer"  # every explorer's outer box carries it (the browser test finds them by it)

PanelImage = Union[np.ndarray, tuple]  # an image, or (image, caption)


def widgets_status() -> str:
    """One line for a notebook's setup cell: empty when ipywidgets is importable, else how to install it.

    First used in notebook 01.
    """
    return "" if widgets is not None else INSTALL_HINT


# ----------------------------------------------------------------------------- pictures


def image_to_png(image: np.ndarray, scale: int = 6) -> bytes:
    """PNG bytes of an image, enlarged ``scale`` times (nearest pixel).

    ``image``: grey ``(H, W)`` floats in [0, 1], or colour ``(H, W, 3)`` (uint8 0-255 or floats in [0, 1]).
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"image must have shape (H, W) or (H, W, 3), got {image.shape}")
    check_int("scale", scale, 1, 32)
    if image.dtype != np.uint8:
        image = (np.clip(image.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    h, w = image.shape[:2]
    picture = Image.fromarray(image)
    if scale > 1:
        picture = picture.resize((w * scale, h * scale), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)  # speed over size: it is redrawn on every move
    return buffer.getvalue()


def digit_row(images: torch.Tensor, count: int, gap: int = 2) -> np.ndarray:
    """``count`` digits ``(N, 1, 28, 28)`` side by side as one grey ``(28, count*28 + gaps)`` image.

    Missing digits (``N < count``) are left as light grey squares, so the row keeps its width.
    """
    check_int("count", count, 1, 64)
    row = np.full((28, count * 28 + (count - 1) * gap), 1.0, dtype=np.float32)
    for i in range(count):
        x0 = i * (28 + gap)
        row[:, x0:x0 + 28] = images[i, 0].detach().float().cpu().numpy() if i < len(images) else 0.85
    return row


# ----------------------------------------------------------------------------- the generic explorer


@dataclass(frozen=True)
class Slider:
    """One slider: its label, range, step and starting value (``integer=True`` for an ``IntSlider``)."""

    label: str
    low: float
    high: float
    step: float
    value: float
    integer: bool = False
    readout: str = ".2f"

    def __post_init__(self):
        for name in ("low", "high", "step", "value"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
                raise TypeError(f"slider {self.label!r}: {name} must be a finite number, got {v!r}")
        if not self.low < self.high:
            raise ValueError(f"slider {self.label!r}: low < high is required, got ({self.low}, {self.high})")
        if not 0 < self.step <= self.high - self.low:
            raise ValueError(f"slider {self.label!r}: step must be in (0, {self.high - self.low:g}], got {self.step}")
        if not self.low <= self.value <= self.high:
            raise ValueError(f"slider {self.label!r}: value must be in [{self.low:g}, {self.high:g}], got {self.value}")


@dataclass(frozen=True)
class Panel:
    """One picture: ``render(values) -> image`` or ``(image, caption)``, drawn ``scale`` times larger."""

    render: Callable[[dict], PanelImage]
    scale: int = 6


class Explorer:
    """Sliders on the left, panels on the right, an optional status line under them.

    Args:
        sliders: ``{name: Slider}``; the panels receive ``{name: value}``.
        panels: ``{title: Panel}`` (an empty title draws no heading).
        status: optional ``values -> str`` (HTML) shown under the panels, e.g. counts at a threshold.

    Attributes:
        sliders: the slider widgets, in the order given (``.slider(name)`` finds one by name).
        images: ``{title: ipywidgets.Image}``; ``image`` is the first. ``captions``: ``{title: HTML}``.
        last_redraw_s: wall time of the latest redraw (decode + render + PNG), in seconds.
    """

    def __init__(self, sliders: Mapping[str, Slider], panels: Mapping[str, Panel],
                 status: Callable[[dict], str] | None = None):
        if not sliders or not all(isinstance(s, Slider) for s in sliders.values()):
            raise TypeError("sliders must be a non-empty dict {name: Slider}")
        if not panels or not all(isinstance(p, Panel) for p in panels.values()):
            raise TypeError("panels must be a non-empty dict {title: Panel}")
        self.specs = dict(sliders)
        self.panels = dict(panels)
        self._status_text = status
        self.last_redraw_s = 0.0
        self._values = {name: spec.value for name, spec in self.specs.items()}
        if widgets is None:
            self.sliders, self.images, self.captions, self.status, self.box = [], {}, {}, None, None
            self._pngs = {title: b"" for title in self.panels}
            self.redraw()
            return
        self.sliders = [self._make_slider(spec) for spec in self.specs.values()]
        self.images = {title: widgets.Image(format="png") for title in self.panels}
        self.image = next(iter(self.images.values()))
        self.captions = {title: widgets.HTML() for title in self.panels}
        self.status = widgets.HTML()
        reset = widgets.Button(description="reset", tooltip="put every slider back to its start value")
        reset.on_click(lambda _: self.reset())
        columns = []
        for title in self.panels:
            heading = [widgets.HTML(f"<b>{title}</b>")] if title else []
            columns.append(widgets.VBox(heading + [self.images[title], self.captions[title]]))
        panel_row = widgets.HBox(columns)
        panel_row.add_class(CSS_CLASS + "-panels")
        self.box = widgets.VBox([widgets.HBox([widgets.VBox(self.sliders + [reset]), panel_row]), self.status])
        self.box.add_class(CSS_CLASS)
        for slider in self.sliders:
            slider.observe(lambda _change: self.redraw(), names="value")
        self.redraw()

    @staticmethod
    def _make_slider(spec: Slider):
        common = dict(description=spec.label, continuous_update=True, layout=widgets.Layout(width="330px"),
                      style={"description_width": "110px"})
        if spec.integer:
            return widgets.IntSlider(value=int(spec.value), min=int(spec.low), max=int(spec.high),
                                     step=max(1, int(spec.step)), **common)
        return widgets.FloatSlider(value=spec.value, min=spec.low, max=spec.high, step=spec.step,
                                   readout_format=spec.readout, **common)

    def slider(self, name: str):
        """The slider widget called ``name`` (one of the names given to the constructor)."""
        if name not in self.specs:
            raise KeyError(f"no slider {name!r}; this explorer has {list(self.specs)}")
        return self.sliders[list(self.specs).index(name)]

    def values(self) -> dict:
        """``{slider name: current value}``."""
        if self.sliders:
            return {name: s.value for name, s in zip(self.specs, self.sliders)}
        return dict(self._values)

    def redraw(self) -> None:
        """Render every panel for the current slider values and show it."""
        started = time.perf_counter()
        values = self.values()
        for title, panel in self.panels.items():
            out = panel.render(values)
            image, caption = out if isinstance(out, tuple) else (out, "")
            png = image_to_png(image, panel.scale)
            if self.box is None:
                self._pngs[title] = png
            else:
                self.images[title].value = png
                self.captions[title].value = caption
        if self.box is not None and self._status_text is not None:
            self.status.value = self._status_text(values)
        self.last_redraw_s = time.perf_counter() - started

    def reset(self) -> None:
        """Move every slider back to its start value."""
        for slider, spec in zip(self.sliders, self.specs.values()):
            slider.value = spec.value

    def snapshot(self, settings: Sequence[Mapping[str, float]], row_titles: Sequence[str] | None = None):
        """A plain matplotlib figure of every panel at several slider settings (one row per setting).

        ``settings``: dicts ``{slider name: value}``; names left out keep their start values. The figure
        shows what the sliders show, for readers without a live kernel (GitHub, nbviewer, a PDF).
        """
        import matplotlib.pyplot as plt

        if isinstance(settings, Mapping) or not settings:
            raise TypeError("settings must be a non-empty list of dicts {slider name: value}")
        rows, values_of = [], []
        for setting in settings:
            unknown = set(setting) - set(self.specs)
            if unknown:
                raise KeyError(f"no slider {sorted(unknown)}; this explorer has {list(self.specs)}")
            values = {name: spec.value for name, spec in self.specs.items()} | dict(setting)
            rows.append({title: panel.render(values) for title, panel in self.panels.items()})
            values_of.append(values)
        if row_titles is None:
            row_titles = [", ".join(f"{self.specs[k].label} = {v:g}" for k, v in s.items()) or "start values"
                          for s in settings]
        # Each panel as wide as the explorer draws it (at 100 pixels per inch), rows as tall as the tallest.
        shapes = [(np.asarray(_image_of(out)).shape[:2], self.panels[t].scale) for t, out in rows[0].items()]
        widths = [max(0.8, w * scale / 100) for (_, w), scale in shapes]
        captioned = self._status_text is not None or any(isinstance(out, tuple) and out[1] for row in rows for out in row.values())
        height = max(h * scale / 100 for (h, _), scale in shapes) + 0.4 + (0.5 if captioned else 0.0)
        single = len(self.panels) == 1  # one panel: the settings side by side, titled above
        if single:
            fig, axes = plt.subplots(1, len(rows), squeeze=False, figsize=(widths[0] * len(rows) + 0.4, height))
            axes = axes.T  # axes[r, 0] is setting r
        else:
            fig, axes = plt.subplots(len(rows), len(widths), squeeze=False,
                                     figsize=(sum(widths) + 0.6, height * len(rows)), gridspec_kw={"width_ratios": widths})
        for r, (row, title) in enumerate(zip(rows, row_titles)):
            for c, (panel_title, out) in enumerate(row.items()):
                ax = axes[r, c]
                image = np.asarray(_image_of(out))
                ax.imshow(image, cmap="gray", vmin=0, vmax=1 if image.dtype != np.uint8 else 255,
                          interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                caption = out[1] if isinstance(out, tuple) else ""
                if c == 0 and not caption and self._status_text is not None:  # the status line, wrapped
                    caption = textwrap.fill(self._status_text(values_of[r]), 48)
                ax.set_xlabel(re.sub(r"<[^>]+>", "", caption), fontsize=8)
                if single:
                    ax.set_title(title, fontsize=8)
                elif r == 0 and panel_title:
                    ax.set_title(panel_title, fontsize=9)
            if not single:
                axes[r, 0].set_ylabel(title, fontsize=8)
        fig.tight_layout()
        return fig

    def _repr_mimebundle_(self, **kwargs):
        if self.box is not None:
            return self.box._repr_mimebundle_(**kwargs)
        pictures = "".join(f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}"/>'
                           for png in self._pngs.values())
        return {"text/plain": INSTALL_HINT, "text/html": f"<p>{INSTALL_HINT}</p>{pictures}"}


def _image_of(out: PanelImage) -> np.ndarray:
    return out[0] if isinstance(out, tuple) else out


# ----------------------------------------------------------------------------- latent explorers


def _latent_dim(model) -> int:
    dim = getattr(model, "latent_dim", None)
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise TypeError(
            f"model must have an int attribute latent_dim >= 1 (a course VAE, autoencoder or GAN generator), "
            f"got {type(model).__name__} with latent_dim={dim!r}"
        )
    return dim


def as_latent(z, latent_dim: int) -> torch.Tensor:
    """One latent vector (list, NumPy array or tensor of length ``latent_dim``) -> float tensor ``(latent_dim,)``."""
    if isinstance(z, torch.Tensor):
        z = z.detach().float().cpu()
    else:
        try:
            z = torch.as_tensor(np.asarray(z, dtype=np.float32))
        except (TypeError, ValueError) as err:
            raise TypeError(f"z must be a 1-D tensor, array or list of numbers, got {type(z).__name__}") from err
    if z.dim() != 1 or z.numel() != latent_dim:
        raise ValueError(f"z must be a 1-D vector of length latent_dim={latent_dim}, got shape {tuple(z.shape)}")
    if not torch.isfinite(z).all():
        raise ValueError("z must hold finite numbers (no NaN or inf)")
    return z


def render_latent(model, z) -> np.ndarray:
    """Decode one latent vector into an image.

    Args:
        model: a decoder with ``latent_dim`` and ``decode`` (see the module docstring).
        z: one latent vector, shape ``(latent_dim,)`` (tensor, array or list).

    Returns:
        float32 NumPy array ``(28, 28)`` with values in [0, 1].

    The model is evaluated in ``eval`` mode without gradients; its training flag is restored.

    First used in notebook 02.
    """
    latent_dim = _latent_dim(model)
    z = as_latent(z, latent_dim)
    decode = getattr(model, "decode", None)
    if decode is None and hasattr(model, "decode_logits"):  # a decoder that returns logits (notebook 01's own)
        decode = lambda z: torch.sigmoid(model.decode_logits(z))  # noqa: E731
    decode = decode or model
    if isinstance(model, torch.nn.Module):
        with evaluating(model):
            out = decode(z.to(model_device(model)).unsqueeze(0))
    else:
        with torch.no_grad():
            out = decode(z.unsqueeze(0))
    if not isinstance(out, torch.Tensor) or out.numel() != 28 * 28:
        raise ValueError(f"the decoder must return one 28x28 image, got {getattr(out, 'shape', type(out))}")
    # Clip: a decoder that overshoots [0, 1] slightly (e.g. a linear output) should still draw.
    return out.reshape(28, 28).clamp(0.0, 1.0).float().cpu().numpy()


class LatentExplorer(Explorer):
    """Sliders ``z[i]`` (one per exposed latent dimension) above one decoded digit per model.

    Attributes (besides ``Explorer``'s): ``dims``, the latent indices the sliders control, and
    ``base``, the latent vector ``(latent_dim,)`` the sliders start from (unexposed dimensions keep it).
    """

    def __init__(self, models: Mapping[str, object], dims: list[int], value_range: tuple[float, float],
                 step: float, base: torch.Tensor, scale: int):
        self.models = dict(models)
        self.dims = list(dims)
        self.base = base.clone()
        lo, hi = value_range
        sliders = {f"z[{d}]": Slider(f"z[{d}]", lo, hi, step, float(min(max(base[d].item(), lo), hi)))
                   for d in self.dims}
        panels = {name: Panel(self._renderer(model), scale) for name, model in self.models.items()}
        super().__init__(sliders, panels)

    def _renderer(self, model):
        return lambda values: render_latent(model, self._latent_from(values))

    def _latent_from(self, values: dict) -> torch.Tensor:
        z = self.base.clone()
        for d in self.dims:
            z[d] = values[f"z[{d}]"]
        return z

    def latent(self) -> torch.Tensor:
        """The latent vector ``(latent_dim,)`` the sliders currently describe."""
        return self._latent_from(self.values())


def check_range(value_range, step) -> tuple[tuple[float, float], float]:
    """``(low, high)`` finite with low < high, and a step in (0, high - low]; returned as floats."""
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError) as err:
        raise TypeError(f"value_range must be a pair of numbers (low, high), got {value_range!r}") from err
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"value_range must be finite with low < high, got {value_range!r}")
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not 0 < step <= hi - lo:
        raise ValueError(f"step must be a number in (0, {hi - lo:g}] (the width of value_range), got {step!r}")
    return (lo, hi), float(step)


def _check_dims(dims, latent_dim: int) -> list[int]:
    if dims is None:
        return list(range(min(latent_dim, MAX_DEFAULT_SLIDERS)))
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence):
        raise TypeError(f"dims must be a list of ints in [0, {latent_dim}), got {type(dims).__name__}")
    if len(dims) == 0:
        raise ValueError(f"dims must name at least one latent index in [0, {latent_dim})")
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"dims must hold ints in [0, {latent_dim}), got {d!r}")
        if not 0 <= d < latent_dim:
            raise ValueError(f"dims must hold ints in [0, {latent_dim}) (the latent size), got {d}")
    if len(set(int(d) for d in dims)) != len(dims):
        raise ValueError(f"dims must not repeat an index, got {list(dims)}")
    return [int(d) for d in dims]


def traversal_explorer(
    models: Mapping[str, object],
    dims: Sequence[int] | None = None,
    value_range: tuple[float, float] = (-3.0, 3.0),
    step: float = 0.1,
    base=None,
    scale: int = 6,
) -> LatentExplorer:
    """Several decoders driven by the same latent sliders, drawn side by side.

    Args:
        models: ``{label: model}``, at least one; every model must have the same ``latent_dim``.
        dims: latent indices that get a slider (default: the first ``min(latent_dim, 10)``).
        value_range: ``(low, high)`` of every slider; a standard-normal prior puts 99.7 % of its
            mass in (-3, 3), the default.
        step: slider resolution, in (0, high - low].
        base: starting latent vector ``(latent_dim,)`` (default zeros, the prior's mean); dimensions
            without a slider stay at their ``base`` value.
        scale: how many screen pixels per image pixel (the 28x28 digit is drawn ``28*scale`` wide).

    Returns:
        a ``LatentExplorer`` with ``.sliders``, ``.images`` and ``.image``.

    First used in notebook 04.
    """
    if not isinstance(models, Mapping) or len(models) == 0:
        raise TypeError("models must be a non-empty dict {label: model}")
    sizes = {str(name): _latent_dim(m) for name, m in models.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"all models must have the same latent_dim to share sliders, got {sizes}")
    latent_dim = next(iter(sizes.values()))
    dims = _check_dims(dims, latent_dim)
    value_range, step = check_range(value_range, step)
    base = torch.zeros(latent_dim) if base is None else as_latent(base, latent_dim)
    check_int("scale", scale, 1, 32)
    return LatentExplorer({str(k): v for k, v in models.items()}, dims, value_range, step, base, scale)


def latent_explorer(
    model,
    dims: Sequence[int] | None = None,
    value_range: tuple[float, float] = (-3.0, 3.0),
    step: float = 0.1,
    base=None,
    scale: int = 6,
) -> LatentExplorer:
    """Sliders ``z[i]`` for one decoder and the digit they decode, redrawn whenever a slider moves.

    Same arguments as ``traversal_explorer`` with a single ``model``. For a 2-D latent model the
    default is two sliders, ``z[0]`` and ``z[1]``.

    First used in notebook 02.
    """
    return traversal_explorer({"": model}, dims=dims, value_range=value_range, step=step, base=base, scale=scale)
