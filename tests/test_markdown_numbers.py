"""No measured number typed into a notebook's Markdown: the run computes it, so the code prints it."""

import json

import pytest

from check_markdown_numbers import ALLOWED, main, measured_numbers, scan


@pytest.mark.parametrize("text", [
    "The VAE reaches 113.9 nats on the test set.",
    "The classifier is right 96 % of the time.",
    "The denoiser gains 2 dB over the median filter.",
    "Training takes about 75 s on two cores.",
    "a confidence of 0.72 for the noisy digits",
    "about $\\approx 9.2$ nats per dead dimension",
])
def test_measured_looking_numbers_are_flagged(text):
    assert measured_numbers(text), text


@pytest.mark.parametrize("text", [
    "Noise levels of 1 %, 10 %, 20 % and 80 % as in the source experiments.",
    "Set $p = 0.2$ and `lr=1e-3`; the KL is $\\tfrac12(\\mu^2 + \\sigma^2 - \\log\\sigma^2 - 1)$.",
    "Most random codes decode to 1s and 7s; see the table above.",
    "The noisy input's PSNR is $10\\log_{10}(2/p)$ dB.",
    "![figure](figures/0.5_thing.png) and <img width=\"260\">",
])
def test_settings_formulas_and_prose_pass(text):
    assert measured_numbers(text) == [], text


def test_the_course_notebooks_have_no_measured_numbers_in_markdown():
    assert main([]) == 0, "run `python tests/check_markdown_numbers.py` to see them"


def test_a_deliberately_inserted_number_fails_the_scan(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": ["# Title\n", "The GAN's Fréchet distance is 183.4.\n"]},
                    {"cell_type": "code", "source": ["x = 0.5  # code may hold numbers\n"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "99_demo.ipynb"
    path.write_text(json.dumps(nb))
    assert scan(path) == [(0, "183.4")]
    assert main([str(path)]) == 1


def test_the_whitelist_stays_short():
    assert len(ALLOWED) <= 14  # the four noise levels, 50 % and 100 %, and the 95 % interval level, each two ways
