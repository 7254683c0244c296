"""The benchmark runner, at tiny sizes: its JSON is well-formed and it collects what notebooks record."""

import importlib.util
import json

import nbformat
import pytest
from course_utils import config
from course_utils.results import read_results, record_result
from nbformat.v4 import new_code_cell, new_notebook


def _load(name):
    spec = importlib.util.spec_from_file_location(name, config.REPO_ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _load("run")
readme_table = _load("readme_table")


def test_loader_speedup_measures_both_loops():
    out = run.loader_speedup(repeats=1, limit=256)
    assert out["dataloader_epoch_s"] > 0 and out["course_epoch_s"] > 0
    assert out["value"] == pytest.approx(out["dataloader_epoch_s"] / out["course_epoch_s"])
    assert out["images"] == 256


def test_runner_writes_json_lines_with_the_data_counted(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_RESULTS", raising=False)
    out = tmp_path / "results.json"
    assert run.main(["--only", run.LOADER, "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["name"] for r in records] == [run.LOADER]
    assert {"name", "value", "unit", "data", "machine", "train_images", "test_images"} <= set(records[0])
    assert records[0]["value"] > 0


def test_the_data_context_counts_what_the_notebooks_will_load(fresh_data, monkeypatch):
    """A 300-image training set is reported as 300 images, not as 'the full MNIST'."""
    from conftest import write_fake_split

    write_fake_split(fresh_data / "MNIST" / "raw", n_train=300, n_test=50)
    context = run.data_context()
    assert (context["train_images"], context["test_images"]) == (300, 50)
    assert "300 train / 50 test" in context["data"] and "folder" in context["data"]


def test_results_recorded_inside_a_notebook_are_collected_and_no_figure_lands_in_the_repository(tmp_path):
    nb = new_notebook(cells=[new_code_cell(
        "from course_utils.results import record_result\n"
        "record_result('toy_metric', 2 + 0.5, 'dB', note='from a kernel')\n"
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "from course_utils.plotting import save_figure\nplt.plot([1, 2])\nsave_figure('bench_probe')"
    )])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "toy.ipynb"
    nbformat.write(nb, path)
    results = tmp_path / "results.jsonl"
    with config.environment(COURSE_FAST="0"):  # full mode would write figures/ if the runner let it
        seconds = run.run_notebook(path, results, timeout=120)
    (record,) = read_results(results)
    assert record["name"] == "toy_metric" and record["value"] == 2.5 and record["note"] == "from a kernel"
    assert seconds > 0 and not (config.REPO_ROOT / "figures" / "bench_probe.png").exists()


def test_every_benchmarked_notebook_records_its_names():
    for notebook, names in run.NOTEBOOK_RESULTS.items():
        source = "\n".join(c.source for c in nbformat.read(config.REPO_ROOT / "notebooks" / notebook, as_version=4).cells)
        for name in names:
            assert f'"{name}"' in source or f"'{name}'" in source, f"{notebook} does not record {name}"


def test_record_result_validates_and_only_writes_when_asked(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_RESULTS", raising=False)
    assert record_result("x_metric", 1, "nats")["value"] == 1.0
    monkeypatch.setenv("COURSE_RESULTS", str(tmp_path / "r.jsonl"))
    record_result("x_metric", 1, "nats")
    record_result("x_metric", 3, "nats")
    assert [r["value"] for r in read_results(tmp_path / "r.jsonl")] == [3.0]  # the later one wins
    with pytest.raises(ValueError, match="name"):
        record_result("Bad Name", 1, "x")
    with pytest.raises(ValueError, match="finite"):
        record_result("x_metric", float("nan"), "x")
    with pytest.raises(TypeError, match="value"):
        record_result("x_metric", "3", "x")


def test_readme_tables_are_rewritten_between_markers_with_a_column_per_data_set(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{readme_table.NB_START}\nSTALE nb\n{readme_table.NB_END}\n"
                      f"{readme_table.START}\nSTALE\n{readme_table.END}\noutro\n")
    files = []
    for label, nelbo, seconds in (("offline", 101.234, 50.0), ("full", 97.5, 61.0)):
        path = tmp_path / f"results-{label}.json"
        common = {"data": f"{label} data", "data_label": label, "mode": "full", "machine": "2 cores", "budget": 1.0}
        path.write_text(json.dumps({"name": "vae_test_nelbo_nats", "value": nelbo, "unit": "nats", **common}) + "\n"
                        + json.dumps({"name": "notebook_seconds_02", "value": seconds, "unit": "s", **common}) + "\n"
                        + (json.dumps({"name": "instrument_seconds", "value": 42.0, "unit": "s", **common}) + "\n"
                           + json.dumps({"name": "notebook_warm_seconds_02", "value": 19.6, "unit": "s", **common})
                           + "\n" if label == "offline" else ""))
        files.append(path)
    text = readme_table.update(readme, files)
    # the classifier's one-off training is reported beside the table, for the data set that measured it
    assert "trained once for the whole course: 42 s (offline subset), not counted" in text
    assert "STALE" not in text and "**101** nats | **97.5** nats" in text and "offline data" in text
    # the lesson's second run with its models cached goes in brackets beside its cold time
    assert "| 50 s (20 s cached) | 61 s |" in text and "full run, 60,000 images" in text
    # stand-in images (Fashion-MNIST laid out as MNIST) time the course but give no digit results
    records = [json.loads(line) for line in files[1].read_text().splitlines()]
    files[1].write_text("".join(json.dumps({**r, "stand_in": True}) + "\n" for r in records))
    text = readme_table.update(readme, files)
    assert "| 50 s (20 s cached) | 61 s |" in text and "**101** nats | goal" not in text and "**97.5**" not in text
    assert text.startswith("intro\n") and text.endswith("outro\n")
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="results:start"):
        readme_table.update(readme, files)


def test_a_headline_value_carries_its_interval_and_the_model_it_names():
    _value = readme_table._value
    record = {"value": 0.9561, "unit": "AUROC", "low": 0.951, "high": 0.9602, "score": "conv AE squared error",
              "chosen_on": "validation"}
    assert _value(record) == "**0.956** AUROC [0.951, 0.96], conv AE squared error (chosen on validation)"
    assert _value({"value": 18.34, "unit": "FD"}) == "**18.3** FD"


def test_the_readme_notebook_table_lists_every_lesson_and_lab_in_order():
    on_disk = sorted(p.name for p in (config.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert [row[0] for row in readme_table.NOTEBOOKS] == on_disk
    assert readme_table.seconds_name("02_vae_lab.ipynb") == "notebook_seconds_02_lab"
    assert readme_table.seconds_name("02_vae.ipynb") == "notebook_seconds_02"
    assert readme_table.warm_seconds_name("02_vae.ipynb") == run.warm_seconds_name("02_vae.ipynb")
