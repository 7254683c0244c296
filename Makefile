# The course's commands. `make lab` opens the course, `make test` runs the fast suite (CI calls it).
PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
NB      ?=
HOMEWORK_DIR ?= homework
JUPYTER_TIMEOUT ?= 1800

.PHONY: help setup lab test test-unit test-full test-grading test-site test-browser site slides figures homework grade bench bench-figures bench-publish bench-grading clean

help:
	@echo "make lab       set up .venv (first time only) and open JupyterLab on notebooks/"
	@echo "make test      set up, then the fast suite: unit tests + every notebook (COURSE_FAST=1)"
	@echo "make test-full   every notebook in full mode at COURSE_SEED=1 (\$$FULL_SEED), claims enforced, nothing tracked written"
	@echo "make test-browser   every explorer in JupyterLab in headless Chromium: sliders render and react"
	@echo "make test-grading   nbgrader on whole submissions: a class folder, and every exercise's wrong and right answers"
	@echo "make site      the website from the committed notebooks, offline, in build/site/ (nothing executed)"
	@echo "make slides    one reveal.js deck per lesson in build/slides/, from the slideshow metadata"
	@echo "make test-site   build both and check them in headless Chromium (offline, images, math, search, decks)"
	@echo "make figures   run every notebook in full mode in place (refreshes figures/ and outputs)"
	@echo "make homework  write student versions to \$$HOMEWORK_DIR (default homework/)"
	@echo "make grade NB=path/to/submission.ipynb   grade one submitted notebook"
	@echo "make grade NB=submissions/   grade a class: submissions/<student>/<notebook>.ipynb -> grades/grades.csv + feedback"
	@echo "   (each submission in its own sandbox; JOBS=n at once, SHARD=i/n one share of the class)"
	@echo "make bench-grading   grade a synthetic class of 30 x 7 notebooks, seconds per notebook; shards merged vs one run"
	@echo "make bench     run every notebook in full mode, timed, and print the numbers (writes only build/bench/)"
	@echo "make bench-figures   both at once: one clean run from an empty cache refreshes outputs and figures and measures"
	@echo "make bench-publish   copy build/bench/ results into benchmarks/ and rewrite the README tables"

# Reinstalls only when pyproject.toml changes; a second `make test` goes straight to the tests.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,docs]"
	touch $(STAMP)

setup: $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

test: $(STAMP)
	$(VENV)/bin/ruff check .
	COURSE_FAST=1 $(PY) -m pytest --nbval-lax -q tests notebooks

# Full mode with claims enforced (a contradicted claim fails its cell), at another seed than the committed outputs
# (seed 0), from an empty cache in a temporary folder; figures go there too. Fails if a tracked file changed.
FULL_SEED ?= 1
test-full: $(STAMP)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	before=$$(git status --porcelain 2>/dev/null); \
	env -u COURSE_FAST COURSE_SEED=$(FULL_SEED) COURSE_CLAIMS=check COURSE_CACHE="$$tmp/cache" \
	  COURSE_FIGURES="$$tmp/figures" $(PY) -m pytest --nbval-lax -q --durations=15 $(if $(NB),$(NB),notebooks) \
	  || exit 1; \
	after=$$(git status --porcelain 2>/dev/null); \
	if [ "$$before" != "$$after" ]; then echo "test-full changed tracked files:"; git status --short; exit 1; fi

# The grading tests: nbgrader on whole submissions, a class folder and every exercise's wrong and right answers
# (minutes, so outside the fast suite; CI runs it after `make test`).
test-grading: $(STAMP)
	COURSE_FAST=1 $(PY) -m pytest -q -m grading tests

# The website and the decks, built from the committed notebooks without executing them (docs/build.py).
site: $(STAMP)
	$(PY) docs/build.py site

slides: $(STAMP)
	$(PY) docs/build.py slides

# Builds both once, then checks them in headless Chromium (tests/test_site.py); CI runs it after `make test`.
test-site: $(STAMP)
	$(PY) -m pytest -q -m site tests/test_site.py

# Every notebook with an explorer, opened in JupyterLab in headless Chromium (tests/test_browser.py); about two
# minutes, so outside the fast suite's 300 s; CI runs it after `make test`.
test-browser: $(STAMP)
	COURSE_FAST=1 $(PY) -m pytest -q -m browser tests/test_browser.py

test-unit: $(STAMP)
	COURSE_FAST=1 $(PY) -m pytest -q tests

figures: $(STAMP)
	for nb in $(if $(NB),$(NB),notebooks/[0-9]*.ipynb); do \
	  echo "== $$nb"; \
	  $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=$(JUPYTER_TIMEOUT) "$$nb" || exit 1; \
	done

homework: $(STAMP)
	$(PY) -m course_utils.homework generate --out $(HOMEWORK_DIR)

grade: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make grade NB=path/to/submission.ipynb  or  make grade NB=submissions/ (one folder per student)"; exit 2; }
	$(PY) -m course_utils.homework grade "$(NB)" $(if $(JOBS),--jobs $(JOBS)) $(if $(SHARD),--shard $(SHARD))

bench-grading: $(STAMP)
	$(PY) benchmarks/grading.py --students 30 --shards 3

clean:
	rm -rf .cache homework build .pytest_cache

# Measuring never touches tracked files: figures go to a temporary folder, results to build/bench/.
# Publishing them (benchmarks/*.json and the README tables) is the explicit second step.
bench: $(STAMP)
	$(PY) benchmarks/run.py

# The release run: every notebook once, from an empty cache, written back in place and timed.
bench-figures: $(STAMP)
	$(PY) benchmarks/run.py --inplace

bench-publish: $(STAMP)
	$(PY) benchmarks/readme_table.py
