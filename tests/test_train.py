import warnings

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


def _run(seed, epochs=3, lr=1e-3):
    config.seed_everything(seed)
    model = models.Autoencoder(latent_dim=2, hidden=(32,))
    history = train.fit(model, _ae_loss, _toy(), epochs=epochs, lr=lr, batch_size=32,
                        generator=torch.Generator().manual_seed(seed), device="cpu", progress=False)
    return model, history


def test_fit_reduces_loss_and_records_history():
    _, history = _run(0, epochs=5, lr=3e-3)
    assert list(history) == ["loss"] and len(history["loss"]) == 5
    assert history["loss"][-1] < history["loss"][0]


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

    history = train.fit(model, loss_fn, _toy(), epochs=2, val_data=_toy(1), device="cpu", progress=False)
    assert set(history) == {"loss", "half", "val_loss", "val_half"}
    assert history["half"][0] == pytest.approx(history["loss"][0] / 2, rel=1e-5)


def test_nan_loss_stops_with_clear_error_naming_lr():
    model = models.Autoencoder(latent_dim=2, hidden=(16,))
    with pytest.raises(train.TrainingDiverged, match=r"lr=0\.5"):
        train.fit(model, lambda m, b: m(b[0]).mean() * float("nan"), _toy(), epochs=1, lr=0.5, progress=False)


@pytest.mark.parametrize("kwargs, match", [({"epochs": -1}, "epochs"), ({"epochs": 1, "lr": 0}, "lr"), ({"epochs": 1.5}, "epochs")])
def test_fit_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train.fit(models.Autoencoder(), _ae_loss, _toy(), **kwargs)


def test_evaluate_is_mean_over_data_and_keeps_mode():
    model = models.Autoencoder(latent_dim=2, hidden=(16,)).train()
    x = _toy()
    result = train.evaluate(model, lambda m, b: ((torch.sigmoid(m(b[0])) - b[0]) ** 2).mean(), x, batch_size=10)
    with torch.no_grad():
        expected = ((torch.sigmoid(model(x)) - x) ** 2).mean().item()
    assert result["loss"] == pytest.approx(expected, rel=1e-5) and model.training


def test_load_or_train_caches_and_retrains_corrupt_file(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    calls = []

    def make_and_train(model):
        def run():
            calls.append(1)
            return train.fit(model, _ae_loss, _toy(), epochs=1, device="cpu", progress=False)
        return run

    settings = {"lr": 1e-3, "data": train.fingerprint(_toy())}
    first = models.Autoencoder(latent_dim=2, hidden=(16,))
    history, loaded = train.load_or_train("toy", first, settings, make_and_train(first))
    assert not loaded and len(calls) == 1
    second = models.Autoencoder(latent_dim=2, hidden=(16,))
    history2, loaded2 = train.load_or_train("toy", second, settings, make_and_train(second))
    assert loaded2 and len(calls) == 1 and history2 == history
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    # other settings -> another file, trained again
    train.load_or_train("toy", second, {**settings, "lr": 2e-3}, make_and_train(second))
    assert len(calls) == 2
    # a corrupt checkpoint is retrained with a warning, not fatal
    train.checkpoint_path("toy", settings).write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="retraining"):
        _, loaded3 = train.load_or_train("toy", second, settings, make_and_train(second))
    assert not loaded3 and len(calls) == 3


def test_fingerprint_tracks_content():
    x = _toy()
    assert train.fingerprint(x) == train.fingerprint(x.clone())
    y = x.clone()
    y[0, 0, 0, 0] += 0.5
    assert train.fingerprint(x) != train.fingerprint(y)


def test_checkpoint_name_is_validated():
    with pytest.raises(ValueError, match="name"):
        train.checkpoint_path("../evil", {})


def test_check_finite_history():
    train.check_finite_history({"loss": [1.0, 0.5]})
    with pytest.raises(train.TrainingDiverged):
        train.check_finite_history({"loss": [1.0, float("inf")]})


def test_random_stream_after_load_or_train_does_not_depend_on_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))

    def run():
        torch.manual_seed(5)
        model = models.Autoencoder(latent_dim=2, hidden=(16,))
        train.load_or_train("rng", model, {"v": 1}, lambda: train.fit(
            model, _ae_loss, _toy(), epochs=1, device="cpu", progress=False))
        return torch.rand(4)

    trained_now, loaded = run(), run()
    assert train.checkpoint_path("rng", {"v": 1}).exists()
    assert torch.equal(trained_now, loaded)
