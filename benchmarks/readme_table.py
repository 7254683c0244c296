"""Rewrite the results table in README.md from benchmarks/results.json (`make bench` runs this)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- results:start -->", "<!-- results:end -->"
GOALS = {
    "vae_test_nelbo_nats": ("VAE test −ELBO (notebook 02)", "≤ 108 nats"),
    "loader_speedup_vs_dataloader": ("epoch speed-up of in-memory batches over `DataLoader(ToTensor())`", "≥ 2×"),
    "anomaly_one_class_mean_auroc": ("one-class anomaly detection, mean AUROC over 10 digits (notebook 07)", "≥ 0.95"),
    "anomaly_one_class_knn_auroc": ("the same with an untrained 1-nearest-neighbour pixel distance (notebook 07)", "baseline"),
    "denoise_psnr_sp20_db": ("best denoiser, PSNR at 20 % salt-and-pepper (notebook 06)", "≥ 22 dB"),
    "median_psnr_sp20_db": ("3×3 median filter, same noise (notebook 06)", "baseline"),
    "gan_classifier_fid": ("GAN, classifier Fréchet distance to test digits (notebook 05)", "lower is better"),
    "vae_classifier_fid": ("VAE, same Fréchet distance (notebook 05)", "lower is better"),
}


def table(records: list[dict]) -> str:
    """A Markdown table of the records, in the order of GOALS, with the data and machine they came from."""
    by_name = {r["name"]: r for r in records}
    rows = ["| measurement | value | goal |", "|---|---|---|"]
    for name, (label, goal) in GOALS.items():
        if name in by_name:
            r = by_name[name]
            rows.append(f"| {label} | **{r['value']:.3g}** {r['unit']} | {goal} |")
    first = records[0] if records else {}
    note = f"\n\nMeasured on {first.get('data', '?')}, {first.get('mode', '?')} mode, {first.get('machine', '?')}."
    return "\n".join(rows) + note


def update(readme: Path, results: Path) -> str:
    records = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    text = readme.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{readme} has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{table(records)}\n{END}{tail}"
    readme.write_text(new)
    return new


if __name__ == "__main__":
    results = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "benchmarks" / "results.json"
    update(ROOT / "README.md", results)
    print(f"README.md results table updated from {results}")
