# emstudio developer entry points. `make run` and `make test` are all a fresh clone needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
# auto: CUDA build when an NVIDIA driver is found, else the CPU build. Override: TORCH_VARIANT=cpu
TORCH_VARIANT ?= auto
DEMO ?= demo.emproj
export PIP_DISABLE_PIP_VERSION_CHECK=1

NOQT_VENV ?= .venv-noqt
NOQT_TESTS ?= tests/core/project tests/core/volume tests/jobs tests/cli/test_import_export.py tests/cli/test_jobs_cli.py

.PHONY: install run test test-noqt lint bench package package-test clean

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
	$(MAKE) test-noqt

# core/, jobs/ and cli/ in an environment without PySide6, pyqtgraph or VTK installed at all
$(NOQT_VENV)/.installed: pyproject.toml packaging/install_torch.py packaging/requirements_without_gui.py
	test -x $(NOQT_VENV)/bin/python || $(PYTHON) -m venv $(NOQT_VENV)
	$(NOQT_VENV)/bin/python packaging/install_torch.py --variant cpu --version $(TORCH_VERSION)
	$(NOQT_VENV)/bin/python packaging/requirements_without_gui.py > $(NOQT_VENV)/requirements.txt
	$(NOQT_VENV)/bin/python -m pip install -q -r $(NOQT_VENV)/requirements.txt
	$(NOQT_VENV)/bin/python -m pip install -q --no-deps -e .
	touch $@

test-noqt: $(NOQT_VENV)/.installed
	$(NOQT_VENV)/bin/python -c "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) for m in ('PySide6', 'pyqtgraph', 'vtk')))"
	$(NOQT_VENV)/bin/python -m pytest -q -p no:cacheprovider $(NOQT_TESTS)

lint: install
	$(VENV)/bin/ruff check emstudio tests benchmarks packaging
	$(VENV)/bin/lint-imports

bench: install
	$(PY) benchmarks/bench_import.py

# A self-contained one-folder app (PyInstaller) and its Linux tarball, with the torch build
# that TORCH_VARIANT selected for .venv (cpu or cuda; packaging/README.md).
package: install
	$(PY) -m pip install -q -e ".[package]"
	$(VENV)/bin/pyinstaller packaging/emstudio.spec --noconfirm --log-level WARN \
		--distpath dist --workpath build/pyinstaller
	variant=$$($(PY) -c "import torch; print('cuda' if torch.version.cuda else 'cpu')") && \
		$(PY) packaging/slim.py dist/emstudio --variant $$variant && \
		packaging/linux/make_tarball.sh $$variant

# Builds the bundle, unpacks it in a clean folder and runs --self-test there (slow: minutes)
package-test: install
	$(PY) -m pip install -q -e ".[package]"
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m slow tests/packaging

clean:
	rm -rf $(VENV) $(NOQT_VENV) build dist *.egg-info .pytest_cache
