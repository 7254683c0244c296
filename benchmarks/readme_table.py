"""Publish benchmark results: copy them into benchmarks/ and rewrite the README's two tables (`make bench-publish`).

`make bench` only measures and prints (its files go to the ignored build/bench/); this explicit step writes the
tracked files, so a teacher who benchmarks on other data never gets a dirty checkout by accident.

Usage: ``python benchmarks/readme_table.py [results-offline.json] [results-full.json]`` (default: whatever
``build/bench/`` holds). The notebook table gets one measured time column per data set; the results table
one value column per data set.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- results:start -->", "<!-- results:end -->"
NB_START, NB_END = "<!-- notebooks:start -->", "<!-- notebooks:end -->"
LABELS = {"offline": "offline subset", "full": "60,000 images"}
GOALS = {
    "vae_test_nelbo_nats": ("best VAE test −ELBO, one posterior sample per image (notebook 02)", "≤ 108 nats"),
    "loader_speedup_vs_dataloader": ("epoch speed-up of in-memory batches over `DataLoader(ToTensor())`", "≥ 2×"),
    "anomaly_one_class_mean_auroc": ("one-class anomaly detection, mean test AUROC over the 10 digits (seed 0), the learned score fixed on validation; interval over test images (notebook 07)", "above the 1-NN baseline"),
    "anomaly_one_class_knn_auroc": ("the same with an untrained 1-nearest-neighbour pixel distance (notebook 07)", "baseline"),
    "denoise_psnr_sp20_db": ("learnt denoiser fixed on validation, test PSNR at 20 % salt-and-pepper; interval over test images (notebook 06)", "above the median filter"),
    "median_psnr_sp20_db": ("3×3 median filter, same noise (notebook 06)", "baseline"),
    "dcgan_classifier_fid": ("DCGAN, Fréchet distance in the course classifier's features (not Inception), 500 samples vs 500 test digits (notebook 05)", "≤ 15 × the floor below"),
    "dcgan_kid": ("DCGAN, kernel distance (KID) in the same features (notebook 05)", "lower is better"),
    "gan_classifier_fid": ("MLP GAN at its validation-chosen rate, same Fréchet distance (notebook 05 lab)", "lower is better"),
    "vae_classifier_fid": ("MLP VAE (decoder means), same Fréchet distance (notebook 05)", "lower is better"),
    "real_vs_real_fd_floor": ("500 real test digits vs 500 other real test digits, same Fréchet distance: the floor (notebook 05)", "floor"),
    "dcgan_rarest_digit_percent": ("DCGAN, share of its samples given to its rarest digit (notebook 05; fair: 10 %)", "≥ 5 %"),
}
NOTEBOOKS = [  # file, title, what you learn, README figure (a lesson, then its lab)
    ("01_autoencoder.ipynb", "autoencoder", "encoder/decoder, a hand-written training loop, the 2-D code space, sampling codes from fitted densities, holes judged locally", "01_random_decodes.png"),
    ("01_autoencoder_lab.ipynb", "lab", "two common mistakes measured: a \"fake\" image that is a reconstruction, pixels in 0–255", "01_pixel_range_pitfall.png"),
    ("02_vae.ipynb", "variational autoencoder", "amortised inference, the ELBO and the KL term derived and checked by numbers, reparameterisation, an MLP and a conv VAE chosen on validation, decoded samples, latent sliders", "02_manifold_2d.png"),
    ("02_vae_lab.ipynb", "lab", "the training recipe and its confounds, a double encoder, priors of another variance, common mistakes measured", "02_kl_per_dim.png"),
    ("03_reconstruction_losses.ipynb", "BCE vs MSE vs L1", "reconstruction losses as likelihoods with a hidden noise scale (a β), compared over seeds with paired intervals; SSE + KL on [−1, 1] data is a smaller σ", "03_sigma_is_beta.png"),
    ("03_reconstruction_losses_lab.ipynb", "lab", "common mistakes measured: mismatched reductions, [−1, 1] data fed to BCE, training losses in three units, dropping an ELBO term", "03_reduction_collapse.png"),
    ("04_beta_vae.ipynb", "β-VAE", "β as the price of rate: the rate–distortion plane, water-filling, active dimensions, posterior collapse, three-seed verdicts", "04_rate_distortion.png"),
    ("04_beta_vae_lab.ipynb", "lab", "switched-off dimensions, a tutorial's conv β-VAE at β = 1–4, what `shuffle=False` costs on two data sets", "04_conv_beta_samples.png"),
    ("05_gan.ipynb", "GAN", "the GAN game, a DCGAN trained step by step, samples judged by Fréchet distance, KID and precision/recall against a real-vs-real floor", "05_dcgan_samples.png"),
    ("05_gan_lab.ipynb", "lab", "learning-rate search and MLP vs DCGAN over seeds, unbalanced games, a leaked gradient measured", "05_leaky_gan_measures.png"),
    ("06_noisy_data.ipynb", "noisy data and denoising", "the noise formulas and PSNR averaging, a VAE trained on noisy digits, a convolutional denoising AE against the median filter", "06_denoising_grid.png"),
    ("06_noisy_data_lab.ipynb", "lab", "choosing the denoiser on validation, a denoising VAE at an equal budget, noise added only in the first epoch", "06_lab_denoising_vae_vs_ae.png"),
    ("07_anomaly_detection.ipynb", "anomaly detection", "the one-class protocol, reconstruction error and −ELBO against a nearest-neighbour baseline, the score fixed on validation, ROC/AUROC with intervals, a threshold explorer", "07_one_class_auroc.png"),
    ("07_anomaly_detection_lab.ipynb", "lab", "more scores and seeds, held-out digits, corruptions, Fashion-MNIST as out-of-distribution data, what tuning on the test set buys", "07_ood_histograms.png"),
]


def seconds_name(file: str) -> str:
    """The result name ``benchmarks/run.py`` gives a notebook's wall time (``notebook_seconds_02``, ``..._02_lab``)."""
    return f"notebook_seconds_{file[:2]}" + ("_lab" if file.removesuffix(".ipynb").endswith("_lab") else "")


def read(path: Path) -> dict[str, dict]:
    """``{name: record}`` of one results file (JSON lines)."""
    return {r["name"]: r for r in (json.loads(line) for line in path.read_text().splitlines() if line.strip())}


def warm_seconds_name(file: str) -> str:
    """The result name of a lesson's time with its models cached (``notebook_warm_seconds_02``)."""
    return f"notebook_warm_seconds_{file[:2]}"


def _seconds(record: dict | None, warm: dict | None = None) -> str:
    """``49 s``, or ``49 s (21 s cached)`` when the lesson was also timed with its models cached."""
    if not record:
        return "–"
    return f"{record['value']:.0f} s" + (f" ({warm['value']:.0f} s cached)" if warm else "")


def notebook_table(runs: dict[str, dict]) -> str:
    """The README's notebook table with one measured full-mode time column per data set in ``runs``."""
    head = "| # | notebook | what you learn | " + " | ".join(f"full run, {LABELS[k]}" for k in runs) + " | a figure from it |"
    rows = [head, "|" + "---|" * (4 + len(runs))]
    for file, title, learn, figure in NOTEBOOKS:
        lab = seconds_name(file).endswith("_lab")
        times = " | ".join(_seconds(r.get(seconds_name(file)), None if lab else r.get(warm_seconds_name(file)))
                           for r in runs.values())
        number = f"{file[:2]} lab" if lab else file[:2]
        picture = "" if lab else f'<img src="figures/{figure}" width="260">'
        rows.append(f"| {number} | [{title}](notebooks/{file}) | {learn} | {times} | {picture} |")
    instrument = [f"{r['instrument_seconds']['value']:.0f} s ({LABELS[k]})" for k, r in runs.items()
                  if "instrument_seconds" in r]
    note = ("\n\nEach time is one full run from an empty checkpoint cache for the notebook's own models, the notebooks "
            "run in order, so a lab loads its lesson's models and 02 loads 01's autoencoder. In brackets: the lesson "
            "run once more with its models cached, which is what a teacher waits for in class after preparing.")
    if instrument:
        note += (" Before them the digit classifier that every notebook uses as its measuring instrument is "
                 f"trained once for the whole course: {', '.join(instrument)}, not counted in any notebook.")
    return "\n".join(rows) + note


def _value(record: dict) -> str:
    """``**0.956** AUROC [0.951, 0.960], conv AE squared error``: the value, its 95 % interval and the model or
    score it names, when the notebook recorded them."""
    text = f"**{record['value']:.3g}** {record['unit']}"
    if "low" in record and "high" in record:
        text += f" [{record['low']:.3g}, {record['high']:.3g}]"
    named = record.get("score") or record.get("method") or record.get("model")
    if named:
        text += f", {named}" + (" (chosen on validation)" if record.get("chosen_on") == "validation" else "")
    return text


def results_table(runs: dict[str, dict]) -> str:
    """The headline numbers, one column per data set, with the data and machine they came from.

    A run on stand-in data (images that only time the course, such as Fashion-MNIST laid out as MNIST)
    contributes times to the notebook table, never quality numbers.
    """
    runs = {k: r for k, r in runs.items() if not next(iter(r.values()), {}).get("stand_in")}
    if not runs:
        return "No results on real MNIST digits yet: run `make bench`, then `make bench-publish`."
    rows = ["| measurement | " + " | ".join(f"{LABELS[k]} (95 % interval where measured)" for k in runs) + " | goal |", "|---|" + "---|" * (len(runs) + 1)]
    for name, (label, goal) in GOALS.items():
        values = [_value(r[name]) if name in r else "–" for r in runs.values()]
        rows.append(f"| {label} | " + " | ".join(values) + f" | {goal} |")
    notes = []
    for key, r in runs.items():
        first = next(iter(r.values()), {})
        notes.append(f"{LABELS[key]}: {first.get('data', '?')}, {first.get('mode', '?')} mode, "
                     f"budget ×{first.get('budget', 1):g}, {first.get('machine', '?')}")
    return "\n".join(rows) + "\n\nMeasured on " + "; ".join(notes) + "."


def _replace(text: str, start: str, end: str, body: str) -> str:
    if start not in text or end not in text:
        raise ValueError(f"README.md has no {start} ... {end} section")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def update(readme: Path, results: list[Path]) -> str:
    """Rewrite both tables of ``readme`` from results files (each labelled offline/full by its data)."""
    runs: dict[str, dict] = {}
    for path in results:
        records = read(path)
        label = next(iter(records.values()), {}).get("data_label", "offline")
        runs[label] = records
    runs = {k: runs[k] for k in LABELS if k in runs}
    if not runs:
        raise ValueError("no results to publish: run `make bench` first")
    text = _replace(readme.read_text(), START, END, results_table(runs))
    text = _replace(text, NB_START, NB_END, notebook_table(runs))
    readme.write_text(text)
    return text


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "build" / "bench").glob("results-*.json"))
    for path in paths:
        if path.resolve().parent != (ROOT / "benchmarks").resolve():
            shutil.copy(path, ROOT / "benchmarks" / path.name)
    update(ROOT / "README.md", [ROOT / "benchmarks" / p.name for p in paths])
    print("published", ", ".join(p.name for p in paths), "into benchmarks/ and README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
