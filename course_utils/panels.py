"""The one widget every explorer is built from: sliders above pictures that redraw when a slider moves.

``Explorer`` is a row of sliders (``Slider`` specs), a row of ``Panel`` s (each a function from the slider
values to an image, with an optional caption under it) and an optional status line. It is built without
a display, so tests can move a slider and read the PNG bytes shown::

    w = Explorer({"p": Slider("noise p", 0, 1, 0.01, 0.2)}, {"noisy": Panel(lambda v: noisy_digit(v["p"]))})
    w.slider("p").value = 0.5       # the panel redraws itself
    png = w.images["noisy"].value   # bytes of the PNG now shown

In a notebook, ``display(w)`` (or ``w`` as a cell's last line) shows the sliders. Without a widget front
end (nbconvert, nbval, a terminal) it builds and redraws all the same. Without ``ipywidgets`` installed it
shows its starting pictures and one line saying how to install it (``INSTALL_HINT``). ``w.snapshot(...)``
draws the panels at several settings as a plain matplotlib figure, for readers without a kernel.

``PlotCanvas`` renders a matplotlib plot once and marks a data point on its pixels in well under a
millisecond, so a plot can be a panel. The explorers themselves live in ``course_utils.widgets`` (latent
sliders) and ``course_utils.explorers`` (one per notebook).
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

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .checks import check_int

try:  # the sliders need ipywidgets; everything else here works without it
    import ipywidgets as widgets
except ImportError:  # pragma: no cover - exercised by a test that hides the module
    widgets = None

from .config import WIDGETS_HINT as INSTALL_HINT  # noqa: E402 (one wording, also used by banner())
MARK_COLOUR = (214, 39, 40)  # matplotlib's tab:red, for the point the sliders describe
CSS_CLASS = "course-explorer"  # every explorer's outer box carries it (the browser test finds them by it)

PanelImage = Union[np.ndarray, tuple]  # an image, or (image, caption)


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


# ----------------------------------------------------------------------------- a plot as a panel


class PlotCanvas:
    """A matplotlib plot drawn once to pixels, on which a data point can be marked quickly.

    Drawing a scatter of 60,000 codes takes a few hundred milliseconds; marking one point on its pixels
    takes well under one. ``PlotCanvas(draw)`` calls ``draw(ax)`` once on a fresh figure.

    Attributes:
        pixels: the rendered plot, uint8 ``(H, W, 3)``.
    """

    def __init__(self, draw: Callable, size_inches: tuple[float, float] = (3.4, 3.2), dpi: int = 80):
        fig = Figure(figsize=size_inches, dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        draw(ax)
        fig.tight_layout(pad=0.4)
        fig.canvas.draw()
        self.pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
        self._to_display = ax.transData  # data -> display coordinates (pixels from the bottom left)
        x0, y0, x1, y1 = ax.bbox.extents
        height = self.pixels.shape[0]
        self._clip = (int(x0), int(height - y1), int(x1), int(height - y0))  # left, top, right, bottom

    def to_pixel(self, x: float, y: float) -> tuple[float, float]:
        """Column and row of the data point ``(x, y)`` on ``pixels``."""
        col, row_from_bottom = self._to_display.transform((x, y))
        return float(col), float(self.pixels.shape[0] - row_from_bottom)

    def marked(self, x: float, y: float, radius: int = 6, colour=MARK_COLOUR) -> np.ndarray:
        """A copy of ``pixels`` with a ring and a cross at data point ``(x, y)`` (clipped to the axes)."""
        image = self.pixels.copy()
        col, row = self.to_pixel(x, y)
        left, top, right, bottom = self._clip
        col, row = min(max(col, left), right), min(max(row, top), bottom)  # off the plot: pinned to its edge
        r = radius + 2
        r0, r1 = max(int(row) - r, 0), min(int(row) + r + 1, image.shape[0])
        c0, c1 = max(int(col) - r, 0), min(int(col) + r + 1, image.shape[1])
        rows, cols = np.mgrid[r0:r1, c0:c1]
        distance = np.hypot(rows - row, cols - col)
        ring = np.abs(distance - radius) < 1.2
        cross = ((np.abs(rows - row) < 1.0) | (np.abs(cols - col) < 1.0)) & (distance < radius - 1)
        image[r0:r1, c0:c1][ring | cross] = colour
        return image
