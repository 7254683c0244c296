"""The trusted grader's probes: for each autograded exercise, the calls it makes on inputs of its own choosing.

A ``Probe`` names the test cell it grades (``exercise``), the student's function, optional trusted ``support``
code (helpers the calls use, defined in the sandbox before the student's code), and ``calls(rng)``: a list of
``(expression, {name: array})`` built from the grader's random generator, so the inputs are not those of the
notebook. The student's outputs are compared with the instructor's solution's outputs on the same inputs
(``rtol``/``atol``), or, for an exercise whose answer is random, judged by ``check(outputs, inputs)``, which
returns ``None`` when every property holds and else the reason.

Shapes are given per call; everything handed across is ``float64``/``float32`` arrays or plain numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

BASE_PREAMBLE = "import math\nimport numpy as np\nimport torch\nimport torch.nn.functional as F\nfrom torch import nn\n"


@dataclass
class Probe:
    """One exercise's hidden calls. ``calls(rng) -> [(expr, {name: ndarray}), ...]``."""

    exercise: str
    function: str
    calls: Callable[[np.random.Generator], list]
    rtol: float = 1e-4
    atol: float = 1e-6
    support: str = ""
    check: Callable | None = None  # check(outputs, inputs) -> None | reason, for random answers
    extra_imports: str = ""
    notes: dict = field(default_factory=dict)


def _f32(a):
    return np.asarray(a, dtype=np.float32)


def _f64(a):
    return np.asarray(a, dtype=np.float64)


# ---------------------------------------------------------------------------------------------------- 01
TRAIN_STEP_SUPPORT = '''
def bce_per_image(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)

def _probe_train_step(xb, seed):
    torch.manual_seed(int(seed))
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 2), nn.Linear(2, 32), nn.ReLU(),
                          nn.Linear(32, 784), nn.Unflatten(1, (1, 28, 28)))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = [train_step(model, opt, xb) for _ in range(3)]
    if not all(type(v) is float for v in losses):
        raise TypeError("return the loss as a Python float (loss.item())")
    return torch.cat([torch.tensor(losses, dtype=torch.float64)] + [p.detach().double().flatten() for p in model.parameters()])
'''


def _bce(rng):
    logits, x = _f32(rng.standard_normal((5, 1, 28, 28)) * 3), _f32(rng.random((5, 1, 28, 28)))
    return [("my_bce_per_image(a, x)", {"a": logits, "x": x}),
            ("my_bce_per_image(a[:2], x[:2])", {"a": logits, "x": x}),
            ("my_bce_per_image(a, x)", {"a": np.full((2, 1, 28, 28), 300.0, np.float32), "x": np.zeros((2, 1, 28, 28), np.float32)}),
            ("my_bce_per_image(a, x)", {"a": np.full((1, 1, 28, 28), -40.0, np.float32), "x": np.ones((1, 1, 28, 28), np.float32)}),
            ("my_bce_per_image(a, x)", {"a": np.zeros((3, 1, 28, 28), np.float32), "x": x[:3]})]


def _train_step(rng):
    xb = _f32(rng.random((12, 1, 28, 28)) > 0.6)
    return [("_probe_train_step(xb, 7)", {"xb": xb})]


def _hole_ratio(rng):
    codes, pts = _f64(rng.standard_normal((50, 2))), _f64(rng.standard_normal((6, 2)) * 2)
    codes4, pts4 = _f64(rng.standard_normal((30, 4))), _f64(rng.standard_normal((5, 4)))
    return [("my_hole_ratio(p, c, 5)", {"p": pts, "c": codes}), ("my_hole_ratio(p, c, 1)", {"p": pts, "c": codes}),
            ("my_hole_ratio(p, c, 3)", {"p": pts4, "c": codes4})]


# ---------------------------------------------------------------------------------------------------- 02
def _kl(rng):
    mq, lq, mp, lp = (_f64(rng.standard_normal((6, 4))) for _ in range(4))
    ins = {"a": mq, "b": lq, "c": mp, "d": lp}
    return [("kl_two_gaussians(a, b, c, d)", ins), ("kl_two_gaussians(c, d, a, b)", ins),
            ("kl_two_gaussians(a, b, torch.zeros_like(a), torch.zeros_like(b))", ins), ("kl_two_gaussians(a, b, a, b)", ins)]


def _log_normal(rng):
    z, m, lv = (_f64(rng.standard_normal((3, 5, 4))) for _ in range(3))
    return [("log_normal_diag(z, m, v)", {"z": z, "m": m, "v": lv}),
            ("log_normal_diag(z, m, v)", {"z": z[0, :2], "m": m[0, :2], "v": np.full((2, 4), 1.5)})]


def _best_prior_variance(rng):
    mu, lv = _f64(rng.standard_normal((40, 5)) * 0.8 + 0.3), _f64(rng.standard_normal((40, 5)) - 0.5)
    return [("best_prior_variance(m, v)", {"m": mu, "v": lv}),
            ("best_prior_variance(m, v)", {"m": mu[:1], "v": lv[:1]}),
            ("best_prior_variance(m, v)", {"m": np.zeros((3, 2)), "v": np.zeros((3, 2))})]


# ---------------------------------------------------------------------------------------------------- 03
def _laplace(rng):
    x, xh = _f32(rng.random((4, 1, 28, 28))), _f32(rng.random((4, 1, 28, 28)))
    return [(f"laplace_nll_per_image(h, x, {b})", {"h": xh, "x": x}) for b in (0.07, 0.5, 3.0)]


def _best_sigma(rng):
    # Per-image errors of very different sizes: the mean of per-image RMS values differs from the one sigma.
    x = _f32(rng.random((8, 1, 28, 28)))
    scale = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5], np.float32)[:, None, None, None]
    xh = _f32(np.clip(x + scale * rng.standard_normal(x.shape), 0, 1))
    return [("best_sigma(h, x)", {"h": xh, "x": x}), ("best_sigma(h[:3], x[:3])", {"h": xh, "x": x})]


def _class_entropy(rng):
    logits = rng.standard_normal((200, 10)) * np.linspace(0.2, 3, 10)
    probs = _f32(np.exp(logits) / np.exp(logits).sum(1, keepdims=True))
    one = np.zeros((30, 10), np.float32)
    one[:, 3] = 1
    two = np.eye(10, dtype=np.float32)[[2, 2, 5, 5, 5, 9]]
    return [("class_entropy(p)", {"p": probs}), ("class_entropy(p)", {"p": one}), ("class_entropy(p)", {"p": two})]


# ---------------------------------------------------------------------------------------------------- 04
def _kl_per_dim(rng):
    mu, lv = _f32(2 * rng.standard_normal((40, 6))), _f32(rng.standard_normal((40, 6)))
    return [("kl_per_dimension(m, v)", {"m": mu, "v": lv}),
            ("kl_per_dimension(m, v)", {"m": np.zeros((3, 2), np.float32), "v": np.full((3, 2), 1.5, np.float32)})]


def _mc_rate(rng):
    mu, lv = _f32(rng.standard_normal((16, 3))), _f32(0.5 * rng.standard_normal((16, 3)))
    ins = {"m": mu, "v": lv}
    calls = [(f"float(mc_rate(m, v, 400, torch.Generator().manual_seed({s})))", ins) for s in range(10)]
    calls += [(f"(torch.manual_seed({g}), float(mc_rate(m, v, 50, torch.Generator().manual_seed(5))))[1]", ins)
              for g in (0, 1)]
    calls.append(("float(mc_rate(torch.zeros(4, 3), torch.zeros(4, 3), 50, torch.Generator().manual_seed(0)))", ins))
    return calls


def _check_mc_rate(outputs, inputs):
    mu, lv = inputs[0]["m"].astype(np.float64), inputs[0]["v"].astype(np.float64)
    exact = float((0.5 * (mu**2 + np.exp(lv) - lv - 1)).sum(1).mean())
    est = np.array(outputs[:10], dtype=np.float64)
    se = est.std(ddof=1) / math.sqrt(len(est))
    if not np.isfinite(est).all():
        return "the estimates are not finite"
    if abs(est.mean() - exact) > 4 * se + 1e-3:
        return f"biased: the estimates average {est.mean():.4f}, the closed form is {exact:.4f}"
    if not (0 < est.std() < 0.1 * exact + 0.05):
        return "the estimates are not random (or far too spread): draw eps from the generator"
    if outputs[10] != outputs[11]:
        return "the same generator seed gave different estimates: draw eps with the generator argument"
    if abs(outputs[12]) > 1e-6:
        return "when q equals the prior every draw of log q - log p must be 0"
    return None


# ---------------------------------------------------------------------------------------------------- 05
DISC_SUPPORT = '''
def _grad_of_loss(logits, n_real):
    logits = logits.clone().requires_grad_(True)
    discriminator_loss(logits[:n_real], logits[n_real:]).backward()
    return logits.grad
'''


def _disc(rng):
    lr, lf = _f32(rng.standard_normal(6) * 3), _f32(rng.standard_normal(4) * 3)
    big = {"a": np.array([-150.0], np.float32), "b": np.array([150.0], np.float32)}
    return [("discriminator_loss(a, b)", {"a": lr, "b": lf}), ("discriminator_loss(a, b)", {"a": lf, "b": lr}),
            ("discriminator_loss(a, b)", big), ("_grad_of_loss(a, 4)", {"a": np.concatenate([lr[:4], lf])})]


def _frechet(rng):
    ins = {"a": _f64(rng.standard_normal(5)), "b": _f64(rng.random(5) + 0.1), "c": _f64(rng.standard_normal(5)),
           "d": _f64(rng.random(5) * 3 + 0.1)}
    return [("float(frechet_distance_diagonal(a, b, c, d))", ins), ("float(frechet_distance_diagonal(a, b, a, b))", ins),
            ("float(frechet_distance_diagonal(c, d, a, b))", ins)]


GAN_STEP_SUPPORT = '''
def _probe_gan_step(reals, zs, seed):
    torch.manual_seed(int(seed))
    G = nn.Sequential(nn.Linear(3, 5), nn.Tanh())
    D = nn.Sequential(nn.Linear(5, 1), nn.Flatten(0))
    opt_g, opt_d = torch.optim.Adam(G.parameters(), lr=0.01), torch.optim.Adam(D.parameters(), lr=0.01)
    flags, before, d_step = [], [], opt_d.step

    def watched(*args, **kwargs):   # 1.0 if, at D's step, d_loss has sent no gradient into G
        flags.append(float(all(p.grad is None or not p.grad.any() or (b is not None and torch.equal(p.grad, b))
                               for p, b in zip(G.parameters(), before))))
        return d_step(*args, **kwargs)
    opt_d.step = watched
    losses = []
    for real, z in zip(reals, zs):
        before[:] = [None if p.grad is None else p.grad.clone() for p in G.parameters()]
        out = gan_step(G, D, opt_g, opt_d, real, z)
        if len(out) != 2 or not all(type(v) is float for v in out):
            raise TypeError("return (d_loss, g_loss) as two Python floats")
        losses += list(out)
    params = [p.detach().double().flatten() for p in list(G.parameters()) + list(D.parameters())]
    return torch.cat([torch.tensor(losses + flags, dtype=torch.float64)] + params)
'''


def _gan_step(rng):
    reals, zs = _f32(rng.standard_normal((3, 6, 5))), _f32(rng.standard_normal((3, 4, 3)))
    return [("_probe_gan_step(r, z, 5)", {"r": reals, "z": zs}), ("_probe_gan_step(r, z, 9)", {"r": reals[::-1].copy(), "z": zs})]


# ---------------------------------------------------------------------------------------------------- 06
UNCHANGED_SUPPORT = '''
def _unchanged(fn, x, *args):
    before = x.clone()
    fn(x, *args)
    return float(torch.equal(before, x))
'''


def _salt(rng):
    grey = np.full((60, 1, 28, 28), 0.5, np.float32)
    images = _f32(rng.random((4, 1, 28, 28)))
    calls = [(f"my_salt_and_pepper(g, {p}, torch.Generator().manual_seed({s}))", {"g": grey})
             for p, s in ((0.07, 3), (0.35, 4), (0.75, 5))]
    calls += [("my_salt_and_pepper(x, 0.0, torch.Generator().manual_seed(0))", {"x": images}),
              ("my_salt_and_pepper(g, 0.2, torch.Generator().manual_seed(9))", {"g": grey}),
              ("my_salt_and_pepper(g, 0.2, torch.Generator().manual_seed(9))", {"g": grey}),
              ("my_salt_and_pepper(g, 0.2, torch.Generator().manual_seed(10))", {"g": grey}),
              ("_unchanged(my_salt_and_pepper, x, 0.5, torch.Generator().manual_seed(1))", {"x": images})]
    return calls


def _check_salt(outputs, inputs):
    for (p, out) in zip((0.07, 0.35, 0.75), outputs[:3]):
        out = np.asarray(out)
        if out.shape != (60, 1, 28, 28) or not set(np.unique(out)) <= {0.0, 0.5, 1.0}:
            return "pixels must be kept, set to 0 or set to 1 (same shape as the input)"
        hit = out != 0.5
        if abs(hit.mean() - p) > 5 * math.sqrt(p * (1 - p) / out.size):
            return f"the fraction of pixels hit is {hit.mean():.3f}, not p = {p}"
        share = (out == 1).sum() / hit.sum()
        if abs(share - 0.5) > 5 * math.sqrt(0.25 / hit.sum()):
            return "salt and pepper must be half each"
    if not np.array_equal(outputs[3], inputs[3]["x"]):
        return "p = 0 must leave the images unchanged"
    if not np.array_equal(outputs[4], outputs[5]):
        return "the same seed must give the same noise"
    if np.array_equal(outputs[4], outputs[6]):
        return "the noise must come from the generator you are given"
    if outputs[7] != 1.0:
        return "the input must not be modified"
    return None


def _psnr(rng):
    a, b = _f32(rng.random((5, 1, 28, 28))), _f32(rng.random((5, 1, 28, 28)))
    mixed = np.stack([np.full((1, 28, 28), v, np.float32) for v in (0.2, 0.02, 0.05)])
    return [("my_psnr(a, b)", {"a": a, "b": b}), ("my_psnr(a, b)", {"a": np.zeros_like(mixed), "b": mixed}),
            ("my_psnr(a, a)", {"a": a})]


def _unmix(rng):
    clean = _f32(rng.random((6, 1, 28, 28)) > 0.7) * _f32(rng.random((6, 1, 28, 28)))
    calls = [(f"my_unmix((1 - {p}) * x + {p} / 2, {p})", {"x": clean}) for p in (0.03, 0.3, 0.6)]
    return calls + [("my_unmix(x, 0.5)", {"x": np.array([0.0, 0.1, 0.9, 1.0], np.float32)}),
                    ("_unchanged(my_unmix, x, 0.2)", {"x": clean})]


DENOISING_STEP_SUPPORT = '''
def _probe_denoising_step(xb, seed):
    torch.manual_seed(int(seed))
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 784), nn.Unflatten(1, (1, 28, 28)))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    gen, calls = torch.Generator().manual_seed(int(seed) + 1), []

    def corrupt(x):
        calls.append(1)
        hit = torch.rand(x.shape, generator=gen) < 0.25
        salt = (torch.rand(x.shape, generator=gen) < 0.5).to(x.dtype)
        return torch.where(hit, salt, x)

    before = xb.clone()
    losses = [denoising_step(model, opt, xb, corrupt) for _ in range(3)]
    if not all(type(v) is float for v in losses):
        raise TypeError("return the loss as a Python float (loss.item())")
    facts = losses + [float(len(calls)), float(torch.equal(xb, before))]
    return torch.cat([torch.tensor(facts, dtype=torch.float64)] + [p.detach().double().flatten() for p in model.parameters()])
'''


def _denoising_step(rng):
    xb = _f32(rng.random((10, 1, 28, 28)) > 0.7) * _f32(rng.random((10, 1, 28, 28)))
    return [("_probe_denoising_step(xb, 5)", {"xb": xb})]


# ---------------------------------------------------------------------------------------------------- 07
def _scores(rng):
    normal = _f64(np.round(rng.standard_normal(40), 1))
    anomaly = _f64(np.round(rng.standard_normal(25) + 1.0, 1))
    return normal, anomaly


def _auroc(rng):
    n, a = _scores(rng)
    tied = {"n": np.array([0.0, 1.0, 1.0, 2.0]), "a": np.array([1.0, 2.0, 2.0, 3.0])}
    return [("auroc_by_counting(n, a)", {"n": n, "a": a}), ("auroc_by_counting(a, n)", {"n": n, "a": a}),
            ("auroc_by_counting(n, a)", tied)]


def _detection(rng):
    n, a = _scores(rng)
    calls = [(f"detection_rate_at(n, a, {alpha})", {"n": n, "a": a}) for alpha in (0.0, 0.05, 0.15, 0.5, 1.0)]
    # "At or above" the threshold: an anomaly equal to the lowest score is caught at alpha = 1 only with >=,
    # and a normal equal to the threshold counts as a false alarm; a strict > gives 0.5 and 0.5 here.
    calls.append(("detection_rate_at(n, a, 1.0)", {"n": np.array([2.0, 3.0]), "a": np.array([1.0, 4.0])}))
    calls.append(("detection_rate_at(n, a, 0.0)", {"n": np.array([1.0, 2.0]), "a": np.array([2.0, 2.0, 3.0])}))
    return calls


PROBES: dict[str, list[Probe]] = {
    "01_autoencoder.ipynb": [
        Probe("01-bce-tests", "my_bce_per_image", _bce),
        Probe("01-train-step-tests", "train_step", _train_step, rtol=1e-5, atol=1e-6, support=TRAIN_STEP_SUPPORT),
        Probe("01-hole-ratio-tests", "my_hole_ratio", _hole_ratio, rtol=1e-6, atol=1e-9)],
    "02_vae.ipynb": [
        Probe("02-kl-two-gaussians-tests", "kl_two_gaussians", _kl, rtol=1e-7, atol=1e-9,
              extra_imports="from torch.distributions import Normal, kl_divergence\n"),
        Probe("02-log-normal-tests", "log_normal_diag", _log_normal, rtol=1e-7, atol=1e-9,
              extra_imports="from torch.distributions import Normal, kl_divergence\n"),
        Probe("02-best-prior-variance-tests", "best_prior_variance", _best_prior_variance, rtol=1e-7, atol=1e-9,
              extra_imports="from torch.distributions import Normal, kl_divergence\n")],
    "03_reconstruction_losses.ipynb": [
        Probe("03-laplace-nll-tests", "laplace_nll_per_image", _laplace),
        Probe("03-best-sigma-tests", "best_sigma", _best_sigma, rtol=1e-4),
        Probe("03-class-entropy-tests", "class_entropy", _class_entropy, atol=1e-5)],
    "04_beta_vae.ipynb": [
        Probe("04-kl-per-dim-tests", "kl_per_dimension", _kl_per_dim, atol=1e-5),
        Probe("04-mc-rate-tests", "mc_rate", _mc_rate, check=_check_mc_rate)],
    "05_gan.ipynb": [
        Probe("05-discriminator-loss-tests", "discriminator_loss", _disc, atol=1e-5, support=DISC_SUPPORT),
        Probe("05-frechet-diagonal-tests", "frechet_distance_diagonal", _frechet, rtol=1e-6, atol=1e-9),
        Probe("05-gan-step-tests", "gan_step", _gan_step, rtol=1e-5, atol=1e-6, support=GAN_STEP_SUPPORT)],
    "06_noisy_data.ipynb": [
        Probe("06-salt-and-pepper-tests", "my_salt_and_pepper", _salt, check=_check_salt, support=UNCHANGED_SUPPORT),
        Probe("06-psnr-tests", "my_psnr", _psnr, atol=1e-3),
        Probe("06-unmix-tests", "my_unmix", _unmix, atol=1e-5, support=UNCHANGED_SUPPORT),
        Probe("06-denoising-step-tests", "denoising_step", _denoising_step, rtol=1e-5, atol=1e-6,
              support=DENOISING_STEP_SUPPORT)],
    "07_anomaly_detection.ipynb": [
        Probe("07-auroc-by-counting-tests", "auroc_by_counting", _auroc, atol=1e-9),
        Probe("07-detection-rate-tests", "detection_rate_at", _detection, atol=1e-9)],
}
