"""The notebooks' explorers, each an ``Explorer`` (see ``course_utils.widgets``) built for one lesson.

* ``code_space_explorer``  (01): move a point through a 2-D code space; see where the training codes are
  and what the decoder makes of the holes between them.
* ``latent_walk_explorer`` (05): walk from one random code to another, and along random directions, in
  several models' latent spaces at once (the GAN and the VAE side by side).
* ``denoising_explorer``   (06): dial in salt-and-pepper and Gaussian noise; every denoiser's output and PSNR.
* ``threshold_explorer``   (07): move an anomaly threshold along the ROC curve; caught anomalies, false
  alarms, and the worst of each.

Every redraw is one small decode or a few array operations on pictures rendered once (``panels.PlotCanvas``), so
a slider move redraws in a few milliseconds on a CPU (the unit tests hold each explorer under 50 ms).
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np
import torch

from .anomaly import auroc, roc_curve
from .checks import ArgumentError, check_images, check_int
from .image_metrics import psnr
from .models import reconstruct
from .noise import gaussian_noise, salt_and_pepper
from .panels import Explorer, Panel, PlotCanvas, Slider, digit_row
from .widgets import _latent_dim, render_latent


# ----------------------------------------------------------------------------- 01: a 2-D code space


def _check_codes_and_labels(codes, labels) -> tuple[torch.Tensor, np.ndarray]:
    if not isinstance(codes, torch.Tensor) or codes.dim() != 2 or codes.shape[1] != 2 or len(codes) < 2:
        raise ArgumentError(f"codes must be a tensor (N, 2) with N >= 2, got {getattr(codes, 'shape', type(codes))}")
    if not torch.isfinite(codes).all():
        raise ArgumentError("codes must be finite (no NaN or inf)")
    labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    if labels.shape != (len(codes),):
        raise ArgumentError(f"labels must have shape ({len(codes)},) like codes, got {labels.shape}")
    return codes.detach().float().cpu(), labels


def typical_spacing(codes: torch.Tensor, sample: int = 1000, chunk: int = 250) -> float:
    """Median distance from a training code to its nearest other training code (on up to ``sample`` codes).

    ``codes``: ``(N, D)``. The yardstick for "is this point in a hole?": a point several times farther
    from every training code than this lies where the decoder was never trained.
    """
    picks = torch.randperm(len(codes), generator=torch.Generator().manual_seed(0))[:sample]
    nearest = []
    for start in range(0, len(picks), chunk):
        rows = picks[start:start + chunk]
        d = torch.cdist(codes[rows], codes)
        d[torch.arange(len(rows)), rows] = math.inf  # not its own neighbour
        nearest.append(d.min(dim=1).values)
    return float(torch.cat(nearest).median())


def code_space_explorer(model, codes: torch.Tensor, labels, margin: float = 0.15, scale: int = 6) -> Explorer:
    """Two sliders move a point through a 2-D code space: the point on the scatter of training codes, and
    the digit the decoder makes of it.

    Args:
        model: a decoder with ``latent_dim == 2`` (an autoencoder or VAE of the course).
        codes: the training codes, ``(N, 2)``; labels: their digit classes, ``(N,)``.
        margin: how far beyond the codes' bounding box the sliders reach, as a fraction of its width.

    The status line gives the distance to the nearest training code in units of the codes' typical
    spacing (``typical_spacing``): far above 1 means the point sits in a hole.

    Notebook 01 uses it through ``local_code_space_explorer``, which judges holes with a local yardstick.
    """
    if _latent_dim(model) != 2:
        raise ArgumentError(f"model must have latent_dim == 2 for a code-space explorer, got {model.latent_dim}")
    codes, labels = _check_codes_and_labels(codes, labels)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin <= 1:
        raise ArgumentError(f"margin must be a number in [0, 1], got {margin!r}")
    low, high = codes.min(dim=0).values, codes.max(dim=0).values
    pad = (high - low) * margin
    low, high = (low - pad).tolist(), (high + pad).tolist()
    start = codes.mean(dim=0).tolist()
    spacing = typical_spacing(codes)

    def draw(ax):
        shown = torch.randperm(len(codes), generator=torch.Generator().manual_seed(0))[:20000]  # enough to see
        ax.scatter(codes[shown, 0], codes[shown, 1], c=labels[shown.numpy()], cmap="tab10", vmin=-0.5, vmax=9.5,
                   s=2, alpha=0.5, linewidths=0)
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.set_xlabel("z[0]")
        ax.set_ylabel("z[1]")
        ax.tick_params(labelsize=7)

    canvas = PlotCanvas(draw)
    sliders = {f"z[{i}]": Slider(f"z[{i}]", low[i], high[i], _nice_step(high[i] - low[i]),
                                 min(max(start[i], low[i]), high[i])) for i in range(2)}

    def point(values):
        return values["z[0]"], values["z[1]"]

    codes_np = codes.numpy().astype(np.float64)

    def status(values):
        # NumPy, not torch.cdist: one point against 60,000 codes is a few microseconds of arithmetic, while
        # cdist's thread pool stalls for a tenth of a second on a busy 2-core machine.
        squared = ((codes_np - np.array(point(values))) ** 2).sum(axis=1)
        nearest = int(squared.argmin())
        distance = math.sqrt(float(squared[nearest]))
        ratio = distance / spacing if spacing > 0 else math.inf
        verdict = "among the training codes" if ratio < 3 else "in a hole: no training code near it"
        return (f"nearest training code: a {labels[nearest]} at distance {distance:.3g} "
                f"= {ratio:.1f} × the codes' typical spacing ({verdict})")

    panels = {"training codes": Panel(lambda v: canvas.marked(*point(v)), scale=1),
              "decoded": Panel(lambda v: render_latent(model, list(point(v))), scale=scale)}
    return Explorer(sliders, panels, status=status)


def _nice_step(width: float, steps: int = 100) -> float:
    """A round slider step near ``width / steps`` (1, 2 or 5 times a power of ten)."""
    raw = width / steps
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


# ----------------------------------------------------------------------------- 05: walks in latent space


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation from ``a`` (t = 0) to ``b`` (t = 1), vectors ``(D,)``.

    Two draws from N(0, I) in D dimensions both have length close to sqrt(D); the straight line between
    them passes through shorter codes than the prior ever produces (length about sqrt(D/2) halfway), the
    arc does not (White 2016, "Sampling generative networks").
    """
    cos = float(torch.dot(a, b) / (a.norm() * b.norm()))
    omega = math.acos(min(max(cos, -1.0), 1.0))
    if omega < 1e-6:
        return (1 - t) * a + t * b
    return (math.sin((1 - t) * omega) * a + math.sin(t * omega) * b) / math.sin(omega)


def latent_walk_explorer(models: Mapping[str, object], directions: int = 3, seed: int = 0,
                         path: str = "slerp", scale: int = 6) -> Explorer:
    """Walk through several models' latent spaces with the same sliders, side by side.

    Each model gets two codes ``a`` and ``b`` drawn from N(0, I) in its own latent space (seeded by
    ``seed``) and ``directions`` random orthonormal directions ``u_i`` there. The sliders set
    ``z = path(a, b, t) + sum_i s_i u_i``: ``t`` walks from ``a`` to ``b`` (``path`` "slerp" or "linear"),
    ``s_i`` moves along ``u_i``. Models may have different ``latent_dim`` (a GAN with 100, a VAE with 20):
    "direction 1" is then a different random direction in each space. Captions give ``|z| / sqrt(D)``, about
    1 for a typical prior sample.

    First used in notebook 05.
    """
    if not isinstance(models, Mapping) or not models:
        raise ArgumentError("models must be a non-empty dict {label: decoder}")
    check_int("directions", directions, 0, 8)
    check_int("seed", seed, 0, 2**63 - 1)
    if path not in ("slerp", "linear"):
        raise ArgumentError(f"path must be 'slerp' or 'linear', got {path!r}")
    walks = {}
    for name, model in models.items():
        dim = _latent_dim(model)
        gen = torch.Generator().manual_seed(seed)
        a, b = torch.randn(2, dim, generator=gen)
        u = torch.linalg.qr(torch.randn(dim, max(directions, 1), generator=gen)).Q[:, :directions]
        walks[str(name)] = (model, a, b, u)

    sliders = {"t": Slider("a → b", 0.0, 1.0, 0.02, 0.0)}
    sliders.update({f"s{i}": Slider(f"direction {i + 1}", -3.0, 3.0, 0.1, 0.0) for i in range(directions)})

    def code(values, a, b, u):
        t = values["t"]
        z = slerp(a, b, t) if path == "slerp" else (1 - t) * a + t * b
        for i in range(u.shape[1]):
            z = z + values[f"s{i}"] * u[:, i]
        return z

    def renderer(model, a, b, u):
        def render(values):
            z = code(values, a, b, u)
            return render_latent(model, z), f"|z| / √D = {float(z.norm()) / math.sqrt(len(z)):.2f}"
        return render

    panels = {name: Panel(renderer(*walk), scale=scale) for name, walk in walks.items()}
    return Explorer(sliders, panels)


# ----------------------------------------------------------------------------- 06: noise and denoisers


def _as_denoiser(denoiser) -> Callable[[torch.Tensor], torch.Tensor]:
    if isinstance(denoiser, torch.nn.Module):
        return lambda x: reconstruct(denoiser, x)
    if not callable(denoiser):
        raise ArgumentError(f"each denoiser must be a model or a function images -> images, got {type(denoiser).__name__}")
    return denoiser


def denoising_explorer(clean: torch.Tensor, denoisers: Mapping[str, object], seed: int = 0,
                       max_p: float = 0.8, max_sigma: float = 1.0, scale: int = 5) -> Explorer:
    """Sliders for a digit, a salt-and-pepper fraction and a Gaussian σ; the clean digit, the noisy one
    and every denoiser's output, each with its PSNR against the clean digit.

    Args:
        clean: test digits ``(N, 1, 28, 28)`` in [0, 1].
        denoisers: ``{label: model or function}``; a function maps noisy ``(B, 1, 28, 28)`` to restored
            images of the same shape; a model is run through ``reconstruct`` (eval mode, no gradients).
        seed: the noise is drawn from a generator seeded with ``seed`` and the digit's index, so moving
            a noise slider grows the same pattern (every pixel hit at p = 0.1 is also hit at p = 0.2).

    First used in notebook 06.
    """
    check_images(clean)
    if not isinstance(denoisers, Mapping) or not denoisers:
        raise ArgumentError("denoisers must be a non-empty dict {label: model or function}")
    functions = {str(k): _as_denoiser(v) for k, v in denoisers.items()}
    check_int("seed", seed, 0, 2**62)
    for name, value in (("max_p", max_p), ("max_sigma", max_sigma)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            raise ArgumentError(f"{name} must be a number in (0, 1], got {value!r}")
    clean = clean.detach().float().cpu()
    sliders = {"index": Slider("digit", 0, len(clean) - 1, 1, 0, integer=True) if len(clean) > 1
               else Slider("digit", 0, 1, 1, 0, integer=True),
               "p": Slider("salt & pepper p", 0.0, max_p, 0.01, min(0.2, max_p)),
               "sigma": Slider("Gaussian σ", 0.0, max_sigma, 0.02, 0.0)}
    cache = {}

    def noisy_and_restored(values):
        key = (min(int(values["index"]), len(clean) - 1), round(values["p"], 6), round(values["sigma"], 6))
        if key not in cache:
            cache.clear()  # one setting at a time: every panel of one redraw shares it
            x = clean[key[0]:key[0] + 1]
            gen = torch.Generator().manual_seed(seed * 1_000_003 + key[0])
            noisy = gaussian_noise(salt_and_pepper(x, key[1], generator=gen), key[2], generator=gen)
            cache[key] = (x, noisy, {name: f(noisy).detach().float().cpu() for name, f in functions.items()})
        return cache[key]

    def caption(estimate, x):
        value = float(psnr(estimate, x)[0])
        return "PSNR ∞ (identical)" if math.isinf(value) else f"PSNR {value:.1f} dB"

    def panel(name):
        def render(values):
            x, noisy, restored = noisy_and_restored(values)
            image = {"clean": x, "noisy": noisy}.get(name, restored.get(name))
            return image[0, 0].numpy(), ("" if name == "clean" else caption(image, x))
        return Panel(render, scale=scale)

    panels = {name: panel(name) for name in ["clean", "noisy", *functions]}
    return Explorer(sliders, panels)


# ----------------------------------------------------------------------------- 07: an anomaly threshold


def threshold_explorer(scores, is_anomaly, images: torch.Tensor, worst: int = 6, steps: int = 200) -> Explorer:
    """A threshold slider on an anomaly score: the operating point on the ROC curve, the counts, and the
    worst mistakes (normal digits flagged with the highest scores, anomalies missed with the lowest).

    Args:
        scores: ``(N,)`` anomaly scores, higher = more anomalous; a digit is flagged when its score is at or
            above the threshold.
        is_anomaly: ``(N,)`` bools, the truth. images: ``(N, 1, 28, 28)``, the scored digits.
        worst: how many mistakes of each kind to show; steps: slider positions between the lowest and
            highest score.

    The slider starts where 5 % of the normal digits are flagged.

    First used in notebook 07.
    """
    scores = np.asarray(scores.detach().cpu() if isinstance(scores, torch.Tensor) else scores, dtype=np.float64)
    truth = np.asarray(is_anomaly.cpu() if isinstance(is_anomaly, torch.Tensor) else is_anomaly)
    check_images(images)
    fpr, tpr, _ = roc_curve(scores, truth)  # also checks shapes, finiteness and both classes present
    if len(images) != len(scores):
        raise ArgumentError(f"images must hold one digit per score ({len(scores)}), got {len(images)}")
    check_int("worst", worst, 1, 12)
    check_int("steps", steps, 10, 10_000)
    truth = truth.astype(bool)
    area = auroc(scores, truth)
    low, high = float(scores.min()), float(scores.max())
    if high <= low:
        raise ArgumentError("scores must not all be equal: no threshold separates anything")
    normal_order = np.flatnonzero(~truth)[np.argsort(-scores[~truth], kind="stable")]  # highest first
    anomaly_order = np.flatnonzero(truth)[np.argsort(scores[truth], kind="stable")]  # lowest first
    n_normal, n_anomaly = int((~truth).sum()), int(truth.sum())

    def draw(ax):
        ax.plot(fpr, tpr, color="tab:blue", lw=1.5)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("false-alarm rate (normal digits flagged)", fontsize=7)
        ax.set_ylabel("anomalies caught", fontsize=7)
        ax.set_title(f"ROC, AUROC {area:.3f}", fontsize=8)
        ax.tick_params(labelsize=7)

    canvas = PlotCanvas(draw, size_inches=(3.0, 3.0))
    start = float(np.quantile(scores[~truth], 0.95))

    def rates(threshold):
        flagged = scores >= threshold
        caught, false_alarms = int((flagged & truth).sum()), int((flagged & ~truth).sum())
        return caught, false_alarms

    def roc_panel(values):
        caught, false_alarms = rates(values["threshold"])
        return canvas.marked(false_alarms / n_normal, caught / n_anomaly)

    def false_alarms_panel(values):
        flagged = normal_order[scores[normal_order] >= values["threshold"]][:worst]
        return digit_row(images[torch.as_tensor(flagged, dtype=torch.long)], worst), f"{len(flagged)} shown, highest score first"

    def missed_panel(values):
        missed = anomaly_order[scores[anomaly_order] < values["threshold"]][:worst]
        return digit_row(images[torch.as_tensor(missed, dtype=torch.long)], worst), f"{len(missed)} shown, lowest score first"

    def status(values):
        caught, false_alarms = rates(values["threshold"])
        return (f"flagged at score ≥ {values['threshold']:.4g}: caught <b>{caught} of {n_anomaly}</b> anomalies "
                f"({caught / n_anomaly:.1%}), <b>{false_alarms} false alarms</b> among {n_normal} normal digits "
                f"({false_alarms / n_normal:.1%})")

    sliders = {"threshold": Slider("threshold", low, high, (high - low) / steps, min(max(start, low), high),
                                   readout=".4g")}
    panels = {"operating point": Panel(roc_panel, scale=1),
              "worst false alarms": Panel(false_alarms_panel, scale=3),
              "missed anomalies": Panel(missed_panel, scale=3)}
    return Explorer(sliders, panels, status=status)


# ----------------------------------------------------------------------------- 01: a local yardstick for holes

_EXACT = "donot_use_mm_for_euclid_dist"  # exact distances: a point on a code is at 0, not at 1e-4


def nearest_other_distance(codes: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """Distance from every code to its nearest *other* code: ``codes (N, D)`` -> ``(N,)``.

    Exact, ``chunk`` rows of the ``(N, N)`` distance matrix at a time (pass a capped reference set: the cost
    grows as ``N**2``). First used in notebook 01.
    """
    if not isinstance(codes, torch.Tensor) or codes.dim() != 2 or len(codes) < 2:
        raise ArgumentError(f"codes must be a tensor (N, D) with N >= 2, got {getattr(codes, 'shape', type(codes))}")
    chunk = check_int("chunk", chunk, low=1)
    codes = codes.detach().float().cpu()
    out = []
    for start in range(0, len(codes), chunk):
        d = torch.cdist(codes[start:start + chunk], codes, compute_mode=_EXACT)
        rows = torch.arange(len(d))
        d[rows, rows + start] = math.inf  # not its own neighbour
        out.append(d.min(dim=1).values)
    return torch.cat(out)


def local_hole_ratio(points: torch.Tensor, codes: torch.Tensor, k: int = 10, chunk: int = 256,
                     spacing: torch.Tensor | None = None) -> torch.Tensor:
    """How far each point lies from the codes, in units of the spacing of the codes *near it*.

    ``points (M, D)``, ``codes (N, D)`` -> ``(M,)``: the distance from a point to its nearest code, divided
    by the mean nearest-other-code distance (``nearest_other_distance``) of the point's ``k`` nearest codes.
    About 1 or below among the codes, dense or sparse alike; far above 1 (the course says > 3) in a hole.
    ``spacing``: the codes' ``nearest_other_distance``, if already computed. First used in notebook 01.
    """
    if not isinstance(points, torch.Tensor) or points.dim() != 2 or not isinstance(codes, torch.Tensor) \
            or codes.dim() != 2 or points.shape[1] != codes.shape[1]:
        raise ArgumentError("points (M, D) and codes (N, D) must be 2-D tensors with the same D, got "
                            f"{getattr(points, 'shape', type(points))} and {getattr(codes, 'shape', type(codes))}")
    k = check_int("k", k, low=1, high=len(codes))
    codes = codes.detach().float().cpu()
    spacing = nearest_other_distance(codes, chunk) if spacing is None else spacing.detach().float().cpu()
    out = []
    for block in points.detach().float().cpu().split(check_int("chunk", chunk, low=1)):
        d, idx = torch.cdist(block, codes, compute_mode=_EXACT).topk(k, dim=1, largest=False)
        out.append(d[:, 0] / spacing[idx].mean(dim=1))
    return torch.cat(out)


def local_code_space_explorer(model, codes: torch.Tensor, labels, reference: int = 5000, k: int = 10,
                              margin: float = 0.15, scale: int = 6) -> Explorer:
    """``code_space_explorer`` whose status line judges holes with ``local_hole_ratio`` (a local yardstick).

    ``codes (N, 2)`` and ``labels (N,)`` are drawn as in ``code_space_explorer``; the yardstick uses a fixed
    random subset of ``reference`` codes and their ``k`` nearest neighbours, so a point inside a sparse
    cluster is not called a hole because a dense cluster elsewhere sets the scale. First used in notebook 01.
    """
    explorer = code_space_explorer(model, codes, labels, margin=margin, scale=scale)
    codes, labels = _check_codes_and_labels(codes, labels)
    picks = torch.randperm(len(codes), generator=torch.Generator().manual_seed(0))[:check_int("reference", reference, low=k + 1)]
    ref, ref_labels = codes[picks], labels[picks.numpy()]
    spacing = nearest_other_distance(ref).numpy().astype(np.float64)
    ref_np = ref.numpy().astype(np.float64)

    def status(values):
        # NumPy for one point against a few thousand codes: microseconds (see code_space_explorer).
        squared = ((ref_np - np.array([values["z[0]"], values["z[1]"]])) ** 2).sum(axis=1)
        near = np.argpartition(squared, k - 1)[:k]
        nearest = int(near[squared[near].argmin()])
        distance = math.sqrt(float(squared[nearest]))
        local = float(spacing[near].mean())
        ratio = distance / local if local > 0 else math.inf
        verdict = "among the training codes" if ratio < 3 else "in a hole: no training code near it"
        return (f"nearest training code: a {ref_labels[nearest]} at distance {distance:.3g} "
                f"= {ratio:.1f} × the spacing of the codes near it ({verdict})")

    explorer._status_text = status
    explorer.redraw()
    return explorer
