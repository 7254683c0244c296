import os
import random

import numpy as np
import pytest
import torch
from course_utils import config


def test_seed_everything_gives_same_numbers():
    config.seed_everything(7)
    a = (random.random(), np.random.rand(), torch.rand(3))
    config.seed_everything(7)
    b = (random.random(), np.random.rand(), torch.rand(3))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    config.seed_everything(8)
    assert not torch.equal(torch.rand(3), a[2])


def test_seed_everything_returns_seeded_generator():
    g1, g2 = config.seed_everything(3), config.seed_everything(3)
    assert torch.equal(torch.randperm(10, generator=g1), torch.randperm(10, generator=g2))


@pytest.mark.parametrize("bad, err", [(-1, ValueError), (2**32, ValueError), (1.5, TypeError), ("1", TypeError), (True, TypeError)])
def test_seed_everything_rejects_bad_seed(bad, err):
    with pytest.raises(err, match="seed"):
        config.seed_everything(bad)


def test_steps_and_pick_follow_fast_flag_and_budget(monkeypatch):
    monkeypatch.setattr(config, "FAST", False)
    assert config.steps(200) == 200 and config.pick("full", "fast") == "full"
    monkeypatch.setattr(config, "BUDGET", 4.0)
    assert config.steps(200) == 800
    monkeypatch.setattr(config, "FAST", True)
    assert config.steps(200) == 20 and config.steps(200, fast=3) == 3 and config.pick("full", "fast") == "fast"


def test_the_budget_does_not_depend_on_the_dataset_size(monkeypatch):
    """Full mode trains the same number of optimiser steps on 4,000 and on 60,000 images (nothing is trained)."""
    from course_utils import train
    from course_utils.models import Autoencoder

    monkeypatch.setattr(config, "FAST", False)
    counts = {}
    for n in (4000, 60000):
        images = torch.zeros(n, 1, 28, 28)
        steps_taken = []
        # A stand-in optimiser step: count the batches fit takes, skip the arithmetic of a real model.
        monkeypatch.setattr(train, "_split", lambda out, seen=steps_taken: (seen.append(1) or out, {}))
        train.fit(Autoencoder(latent_dim=2, hidden=(4,)), lambda m, b: m(b[0][:1]).sum() * 0, images,
                  steps=config.steps(37), batch_size=128, device="cpu", progress=False)
        counts[n] = len(steps_taken)
    assert counts[4000] == counts[60000] == 37


@pytest.mark.parametrize("full, fast, err", [(0, 1, ValueError), (10, 0, ValueError), (2.5, 1, TypeError), (True, 1, TypeError)])
def test_steps_rejects_bad_input(full, fast, err):
    with pytest.raises(err, match="steps"):
        config.steps(full, fast)


@pytest.mark.parametrize("name, value", [("COURSE_SEED", "-1"), ("COURSE_SEED", "abc"), ("COURSE_BUDGET", "0"),
                                         ("COURSE_BUDGET", "lots")])
def test_environment_numbers_are_validated_with_the_variable_named(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        config._env_number(name, 0, int if name == "COURSE_SEED" else float, 0 if name == "COURSE_SEED" else 0.01, 1000)


def test_environment_context_restores_old_values(monkeypatch):
    monkeypatch.setenv("COURSE_X_KEEP", "old")
    monkeypatch.delenv("COURSE_X_NEW", raising=False)
    with config.environment(COURSE_X_KEEP="new", COURSE_X_NEW="1"):
        assert (os.environ["COURSE_X_KEEP"], os.environ["COURSE_X_NEW"]) == ("new", "1")
    assert os.environ["COURSE_X_KEEP"] == "old" and "COURSE_X_NEW" not in os.environ


def test_device_picks_cpu_without_accelerator(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert config.device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.device() == torch.device("cuda")


def test_device_override_is_validated(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert config.device() == torch.device("cpu")
    monkeypatch.setenv("COURSE_DEVICE", "tpu")
    with pytest.raises(ValueError, match="COURSE_DEVICE"):
        config.device()


def test_fast_mode_writes_to_temporary_folders(monkeypatch):
    monkeypatch.delenv("COURSE_CACHE", raising=False)
    monkeypatch.setattr(config, "FAST", True)
    for folder in (config.figures_dir(), config.cache_dir()):
        assert config.REPO_ROOT not in folder.parents
    monkeypatch.setattr(config, "FAST", False)
    assert config.figures_dir() == config.REPO_ROOT / "figures"


def test_data_dir_follows_course_data(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert config.data_dir() == tmp_path
    monkeypatch.delenv("COURSE_DATA")
    assert config.data_dir() == config.REPO_ROOT / "data"
