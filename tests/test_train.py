
import pytest
import torch
import torch.nn.functional as F
from course_utils import config, models, train


def _toy(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(96, 1, 28, 28, generator=g)
    return x


def _ae_loss(model, batch):
    return F.mse_loss(torch.sigmoid(model(batch[0])), batch[0])


def _run(seed, steps=9, lr=1e-3):
    config.seed_everything(seed)
    model = models.Autoencoder(latent_dim=2, hidden=(32,))
    history = train.fit(model, _ae_loss, _toy(), steps=steps, lr=lr, batch_size=32, log_every=3,
                        generator=torch.Generator().manual_seed(seed), device="cpu", progress=False)
    return model, history


def test_fit_reduces_loss_and_records_history():
    _, history = _run(0, steps=15, lr=3e-3)
    assert list(history) == ["step", "loss"] and history["step"] == [3.0, 6.0, 9.0, 12.0, 15.0]
    assert history["loss"][-1] < history["loss"][0]


def test_steps_not_epochs_set_the_work_whatever_the_data_size():
    """The budget is counted in optimiser steps: 4,000 and 60,000 images get the same number of updates."""
    calls = {}
    for n in (40, 600):
        model, seen = models.Autoencoder(latent_dim=2, hidden=(8,)), []

        def loss_fn(m, batch, seen=seen):
            seen.append(len(batch[0]))
            return _ae_loss(m, batch)

        history = train.fit(model, loss_fn, torch.rand(n, 1, 28, 28), steps=12, batch_size=16, device="cpu",
                            progress=False)
        calls[n] = (len(seen), history["step"][-1])
    assert calls[40] == calls[600] == (12, 12.0)  # 40 images: the data are reshuffled and passed again


def test_same_seed_same_numbers():
    (m1, h1), (m2, h2) = _run(1), _run(1)
    assert h1 == h2
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    _, h3 = _run(2)
    assert h3 != h1


def test_fit_logs_parts_and_validation():
    model = models.Autoencoder(latent_dim=2, hidden=(16,))

    def loss_fn(m, batch):
        loss = _ae_loss(m, batch)
        return loss, {"half": loss / 2}

    history = train.fit(model, loss_fn, _toy(), steps=6, log_every=3, val_data=_toy(1), device="cpu", progress=False)
    assert set(history) == {"step", "loss", "half", "val_loss", "val_half"} and len(history["val_loss"]) == 2
    assert history["half"][0] == pytest.approx(history["loss"][0] / 2, rel=1e-5)


def test_nan_loss_stops_with_clear_error_naming_lr():
    model = models.Autoencoder(latent_dim=2, hidden=(16,))
    with pytest.raises(train.TrainingDiverged, match=r"lr=0\.5"):
        train.fit(model, lambda m, b: m(b[0]).mean() * float("nan"), _toy(), steps=1, lr=0.5, progress=False)


@pytest.mark.parametrize("kwargs, match", [({"steps": -1}, "steps"), ({"steps": 1, "lr": 0}, "lr"),
                                           ({"steps": 1.5}, "steps"), ({"steps": 2, "log_every": 0}, "log_every")])
def test_fit_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        train.fit(models.Autoencoder(), _ae_loss, _toy(), **kwargs)


def test_evaluate_is_mean_over_data_and_keeps_mode():
    model = models.Autoencoder(latent_dim=2, hidden=(16,)).train()
    x = _toy()
    result = train.evaluate(model, lambda m, b: ((torch.sigmoid(m(b[0])) - b[0]) ** 2).mean(), x, batch_size=10)
    with torch.no_grad():
        expected = ((torch.sigmoid(model(x)) - x) ** 2).mean().item()
    assert result["loss"] == pytest.approx(expected, rel=1e-5) and model.training


def test_check_finite_history():
    train.check_finite_history({"loss": [1.0, 0.5]})
    with pytest.raises(train.TrainingDiverged):
        train.check_finite_history({"loss": [1.0, float("inf")]})


def test_load_or_fit_trains_once_then_loads_the_same_weights(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))

    def build_and_fit():
        torch.manual_seed(0)
        model = models.Autoencoder(latent_dim=2, hidden=(16,))
        history, loaded = train.load_or_fit("toy", model, _ae_loss, _toy(), steps=4, device="cpu", progress=False)
        return model, history, loaded

    first, history, loaded = build_and_fit()
    second, history2, loaded2 = build_and_fit()
    assert not loaded and loaded2 and history2 == history
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    assert second.training  # left in train mode, as after a real fit


def test_load_or_fit_rejects_bad_arguments():
    model = models.Autoencoder(latent_dim=2, hidden=(16,))
    with pytest.raises(ValueError, match="optimizer"):
        train.load_or_fit("toy", model, _ae_loss, _toy(), steps=1, optimizer="rmsprop")
    with pytest.raises(ValueError, match="seed"):
        train.load_or_fit("toy", model, _ae_loss, _toy(), steps=1, seed=-1)


def test_random_stream_after_load_or_fit_does_not_depend_on_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))

    def run():
        torch.manual_seed(5)
        model = models.Autoencoder(latent_dim=2, hidden=(16,))
        _, loaded = train.load_or_fit("rng", model, _ae_loss, _toy(), steps=2, device="cpu", progress=False)
        return torch.rand(4), loaded

    (trained_now, loaded1), (after_load, loaded2) = run(), run()
    assert not loaded1 and loaded2
    assert torch.equal(trained_now, after_load)


def _selection_run(keep_best, steps=12):
    config.seed_everything(0)
    model = models.Autoencoder(latent_dim=2, hidden=(16,))
    # lr far too high on purpose: the validation loss jumps around, so the best point is rarely the last one
    history = train.fit(model, _ae_loss, _toy(), steps=steps, lr=0.3, batch_size=16, log_every=2, val_data=_toy(1),
                        keep_best=keep_best, generator=torch.Generator().manual_seed(0), device="cpu", progress=False)
    return model, history


def test_keep_best_restores_the_weights_of_the_lowest_validation_loss():
    model, history = _selection_run(True)
    best = min(range(len(history["val_loss"])), key=history["val_loss"].__getitem__)
    assert history["best_step"] == [history["step"][best]]
    # the restored weights reproduce the best logged validation loss, not the last one
    assert train.evaluate(model, _ae_loss, _toy(1))["loss"] == pytest.approx(history["val_loss"][best], rel=1e-5)
    _, plain = _selection_run(False)
    assert "best_step" not in plain and plain["val_loss"] == history["val_loss"]  # selection does not change training


def test_keep_best_needs_validation_data():
    with pytest.raises(ValueError, match="keep_best=True needs val_data"):
        train.fit(models.Autoencoder(latent_dim=2, hidden=(8,)), _ae_loss, _toy(), steps=2, keep_best=True,
                  progress=False)


@pytest.mark.parametrize("schedule", ["cosine", "onecycle"])
def test_schedules_anneal_the_learning_rate_to_almost_zero(schedule):
    model = models.Autoencoder(latent_dim=2, hidden=(8,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    rates = []

    def loss_fn(m, batch):
        rates.append(optimizer.param_groups[0]["lr"])
        return _ae_loss(m, batch)

    train.fit(model, loss_fn, _toy(), steps=20, lr=1e-2, optimizer=optimizer, schedule=schedule, device="cpu",
              progress=False)
    assert max(rates) == pytest.approx(1e-2, rel=1e-3) and rates[-1] < 2e-3
    if schedule == "onecycle":  # warm-up: the peak comes after the first step
        assert rates[0] < 1e-3 and rates.index(max(rates)) > 0


def test_unknown_schedule_is_refused_with_the_allowed_names():
    with pytest.raises(ValueError, match="schedule must be one of"):
        train.fit(models.Autoencoder(latent_dim=2, hidden=(8,)), _ae_loss, _toy(), steps=2, schedule="linear",
                  progress=False)
