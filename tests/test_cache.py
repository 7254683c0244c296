"""The checkpoint cache: its key is derived from everything that changes the result, never typed by hand."""

import inspect
from pathlib import Path

import pytest
import torch
from torch import nn

from course_utils import cache
from course_utils.losses import AEObjective, VAEObjective
from course_utils.models import MLPVAE
from course_utils.train import load_or_fit
from conftest import random_images


class _SmallVAE(MLPVAE):
    """An MLPVAE whose hidden activation can be swapped without changing any parameter shape."""

    def __init__(self, activation=nn.ReLU):
        super().__init__(latent_dim=3, hidden=16)
        self.encoder_body[2] = activation()
        self.decoder[1] = activation()


@pytest.fixture
def cached(monkeypatch, tmp_path):
    """``train(**changes) -> loaded?``: one load_or_fit call with the baseline settings, changed as asked."""
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    base = dict(activation=nn.ReLU, objective=VAEObjective(), data=random_images(24, seed=0), seed=0, steps=3,
                lr=1e-3, batch_size=8)

    def train(**changes):
        s = {**base, **changes}
        torch.manual_seed(0)  # the same initial weights unless the architecture changes
        model = _SmallVAE(s["activation"])
        _, loaded = load_or_fit("key-test", model, s["objective"], s["data"], steps=s["steps"], lr=s["lr"],
                                batch_size=s["batch_size"], seed=s["seed"], device="cpu", progress=False)
        return loaded

    assert train() is False  # the baseline is trained once
    return train


def test_an_identical_call_loads(cached):
    assert cached() is True


@pytest.mark.parametrize("change", [
    dict(activation=nn.Tanh),                          # same parameter shapes, other activation
    dict(objective=VAEObjective(beta=4.0)),            # β
    dict(objective=VAEObjective("mse")),               # the loss
    dict(data=random_images(24, seed=1)),              # the data
    dict(seed=1),                                      # the seed
    dict(steps=4), dict(lr=2e-3), dict(batch_size=4),  # every fit argument
])
def test_anything_that_changes_the_result_trains_anew(cached, change):
    assert cached(**change) is False
    assert cached(**change) is True  # ... and is cached in turn


def test_a_function_objective_is_keyed_by_its_source_and_closure(cached):
    def scaled(weight):
        return lambda m, b: VAEObjective()(m, b)[0] * weight

    assert cached(objective=scaled(1.0)) is False
    assert cached(objective=scaled(1.0)) is True
    assert cached(objective=scaled(2.0)) is False       # same source, other closed-over value


def test_a_corrupt_or_foreign_checkpoint_is_retrained_with_a_warning(cached, tmp_path):
    for path in tmp_path.glob("key-test-*.pt"):
        path.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="retraining"):
        assert cached() is False
    assert cached() is True


def test_describe_is_stable_and_sees_contents():
    x = torch.rand(5, 3)
    assert cache.describe(x) == cache.describe(x.clone())
    y = x.clone()
    y[0, 0] += 1
    assert cache.describe(x) != cache.describe(y)
    assert cache.describe(AEObjective()) != cache.describe(VAEObjective())
    assert "0x" not in str(cache.describe(object()))   # memory addresses never enter a key
    assert cache.fingerprint(x) == cache.fingerprint(x.clone())


_RUNS = []  # module level: a closed-over counter would itself change the key (it is part of run's closure)


def test_load_or_run_caches_several_modules(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    calls = _RUNS
    calls.clear()

    def build():
        torch.manual_seed(0)
        return {"G": nn.Linear(2, 3), "D": nn.Linear(3, 1)}

    def make_run(mods):
        def run():
            _RUNS.append(1)
            with torch.no_grad():
                mods["G"].weight.add_(1.0)
            return {"loss": [1.0, 0.5]}
        return run

    first = build()
    history, loaded = cache.load_or_run("gan", first, make_run(first), steps=2)
    second = build()
    history2, loaded2 = cache.load_or_run("gan", second, make_run(second), steps=2)
    assert (loaded, loaded2, len(calls)) == (False, True, 1) and history2 == history == {"loss": [1.0, 0.5]}
    assert torch.equal(first["G"].weight, second["G"].weight)
    cache.load_or_run("gan", build(), make_run(build()), steps=3)
    assert len(calls) == 2


def test_names_and_modules_are_validated():
    with pytest.raises(ValueError, match="name"):
        cache.checkpoint_path("../evil", "{}")
    with pytest.raises(TypeError, match="modules"):
        cache.load_or_run("x", "not a module", lambda: {})


# ----------------------------------------------------------------------------- the key sees the code
import linecache  # noqa: E402
import shutil  # noqa: E402

_CELLS = []


def _run_cell(source: str) -> dict:
    """Execute ``source`` as a notebook cell does: module ``__main__``, source findable by ``inspect``."""
    filename = f"<notebook-cell-{len(_CELLS)}>"
    _CELLS.append(filename)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"__name__": "__main__"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace


_NET = '''
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 4)

    def forward(self, x):
        return {body}
'''

_OBJECTIVE = '''
def per_image(out, x):
    return {body}

def objective(model, batch):
    (x,) = batch
    return per_image(model(x), x).mean()
'''


def _fit_cell(net_ns, objective, data):
    torch.manual_seed(0)
    model = net_ns["Net"]()
    return load_or_fit("code-test", model, objective, data, steps=2, batch_size=4, seed=0, device="cpu",
                       progress=False)[1]


def test_editing_forward_in_a_notebook_retrains_even_with_the_same_repr(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    data = torch.rand(8, 4)
    objective = _run_cell(_OBJECTIVE.format(body="(out - x).pow(2).sum(1)"))["objective"]
    first = _run_cell(_NET.format(body="self.layer(x)"))
    edited = _run_cell(_NET.format(body="torch.tanh(self.layer(x))"))
    assert repr(first["Net"]()) == repr(edited["Net"]())          # what the old key saw: identical
    assert _fit_cell(first, objective, data) is False
    assert _fit_cell(_run_cell(_NET.format(body="self.layer(x)")), objective, data) is True  # same code loads
    assert _fit_cell(edited, objective, data) is False


def test_editing_a_helper_that_the_loss_calls_retrains(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    data = torch.rand(8, 4)
    net = _run_cell(_NET.format(body="self.layer(x)"))
    squared = _run_cell(_OBJECTIVE.format(body="(out - x).pow(2).sum(1)"))["objective"]
    absolute = _run_cell(_OBJECTIVE.format(body="(out - x).abs().sum(1)"))["objective"]
    assert inspect.getsource(squared) == inspect.getsource(absolute)  # the objective's own text is unchanged
    assert _fit_cell(net, squared, data) is False
    assert _fit_cell(net, _run_cell(_OBJECTIVE.format(body="(out - x).pow(2).sum(1)"))["objective"], data) is True
    assert _fit_cell(net, absolute, data) is False


def test_editing_course_utils_retrains_every_model(monkeypatch, tmp_path):
    package = Path(cache.__file__).parent
    copy = tmp_path / "course_utils"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert cache.package_fingerprint(copy) == cache.PACKAGE_FINGERPRINT  # the hash is of the source files
    losses_py = copy / "losses.py"
    text = losses_py.read_text()
    fixed = "per_image = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(1)"
    assert fixed in text                                            # the KL term every VAEObjective calls
    losses_py.write_text(text.replace(fixed, "per_image = 0.5 * (mu * mu + logvar.exp() - logvar - 1.0).sum(1)"))
    edited = cache.package_fingerprint(copy)
    assert edited != cache.PACKAGE_FINGERPRINT

    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    data = random_images(8, seed=0)

    def train():
        torch.manual_seed(0)
        return load_or_fit("pkg-test", MLPVAE(latent_dim=2, hidden=8), VAEObjective(), data, steps=2,
                           batch_size=4, seed=0, device="cpu", progress=False)[1]

    assert train() is False and train() is True
    monkeypatch.setattr(cache, "PACKAGE_FINGERPRINT", edited)      # a kernel that imported the edited package
    assert train() is False and train() is True


def test_library_code_is_not_described_as_source():
    described = cache.describe(MLPVAE(latent_dim=2, hidden=8))
    assert "code" not in described                                 # course_utils: the package hash covers it
    assert "code" in cache.describe(_SmallVAE())                   # a subclass written here: its methods count
