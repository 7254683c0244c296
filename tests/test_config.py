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


def test_epochs_and_pick_follow_fast_flag(monkeypatch):
    monkeypatch.setattr(config, "FAST", False)
    assert config.epochs(20) == 20 and config.pick("full", "fast") == "full"
    monkeypatch.setattr(config, "FAST", True)
    assert config.epochs(20) == 1 and config.epochs(20, fast=3) == 3
    assert config.pick("full", "fast") == "fast"
    assert "FAST MODE" in config.banner()


@pytest.mark.parametrize("full, fast, err", [(0, 1, ValueError), (-3, 1, ValueError), (5, 0, ValueError), (2.5, 1, TypeError)])
def test_epochs_rejects_bad_input(full, fast, err):
    with pytest.raises(err, match="epochs"):
        config.epochs(full, fast)


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
