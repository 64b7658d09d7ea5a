# One-command set-up on a fresh machine: `make run` opens the app, `make test` runs every test.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test lint venv bench bench-ui demo screenshots study-demo clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip wheel setuptools

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	$(BIN)/python -m pip install --no-deps 'quantus>=0.6,<0.7'  # the `peer` extra, see pyproject.toml
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py resources/demo

test: $(STAMP)
	$(BIN)/ruff check medgrad_desktop tests benchmarks tools build main.py
	$(BIN)/ruff format --check medgrad_desktop tests benchmarks tools build main.py
	$(BIN)/lint-imports
	$(BIN)/vulture medgrad_desktop --min-confidence 80
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check medgrad_desktop tests benchmarks tools build main.py
	$(BIN)/ruff format --check medgrad_desktop tests benchmarks tools build main.py
	$(BIN)/lint-imports
	$(BIN)/vulture medgrad_desktop --min-confidence 80

bench: $(STAMP)
	$(BIN)/medgrad bench --images 3

demo: $(STAMP)
	$(BIN)/python -m medgrad_desktop.training.make_demo

screenshots: $(STAMP)
	xvfb-run -a -s "-screen 0 1920x1080x24" $(BIN)/python tools/screenshot_main_window.py

bench-ui: $(STAMP)
	$(BIN)/python benchmarks/ui_responsiveness.py

# The reader study end to end under Xvfb: 2 readers x 24 demo cases x 3 arms by keys, one kill -9 mid-session
# and its resume checked, then `medgrad study analyze` and `export` (needs xvfb, xdotool, imagemagick).
study-demo: $(STAMP)
	$(BIN)/python tools/study_xvfb.py --cases 24 --kill-at 5 --out /tmp/medgrad-study-demo

clean:
	rm -rf $(VENV) .pytest_cache

# One-folder PyInstaller bundle in build/dist/MedGradDesktop (see build/README.md); not part of `test`.
.PHONY: bundle bundle-test
bundle: $(STAMP)
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath build/dist --workpath build/build build/medgrad.spec

bundle-test: bundle
	build/bundle_test.sh build/dist/MedGradDesktop
