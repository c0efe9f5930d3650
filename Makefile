# emstudio developer entry points. `make run` and `make test` are all a fresh clone needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
# auto: CUDA build when an NVIDIA driver is found, else the CPU build. Override: TORCH_VARIANT=cpu
TORCH_VARIANT ?= auto
DEMO ?= demo.emproj
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: install run test lint bench clean

$(VENV)/.installed: pyproject.toml packaging/install_torch.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) packaging/install_torch.py --variant $(TORCH_VARIANT) --version $(TORCH_VERSION)
	$(PY) -m pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

# Opens the app on the demo project; with no display it runs the headless demo pipeline.
run: install
	$(VENV)/bin/emstudio run-demo $(DEMO)

test: install
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q
	$(VENV)/bin/ruff check emstudio tests benchmarks packaging
	$(VENV)/bin/lint-imports

lint: install
	$(VENV)/bin/ruff check emstudio tests benchmarks packaging
	$(VENV)/bin/lint-imports

bench: install
	$(PY) benchmarks/bench_import.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
