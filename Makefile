# Two entry points for a fresh Debian machine with Python 3.11:
#   make demo   create .venv, install, run the main job on its built-in data
#   make test   install the dev extras, run ruff and the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: demo test lint bench docs notebooks dot chromium clean

# The graphviz Python package only writes DOT text; rendering needs the `dot` binary.
dot:
	@if command -v dot >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "installing graphviz (the dot binary) with apt-get"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
		|| { echo "apt-get install graphviz failed"; exit 1; }; \
	else \
		echo "The 'dot' binary from Graphviz is missing. Install it: sudo apt-get install graphviz"; \
		exit 1; \
	fi

# The step-through page's test drives a real headless Chromium through chromedriver.
chromium:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "installing chromium and chromium-driver with apt-get (for the browser test)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
		|| { echo "apt-get install chromium chromium-driver failed"; exit 1; }; \
	else \
		echo "Chromium and chromedriver are missing (the browser test needs them). Install them: sudo apt-get install chromium chromium-driver"; \
		exit 1; \
	fi

$(VENV)/.stamp-demo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[demo]"
	@touch $@

$(VENV)/.stamp-dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[dev,demo]"
	@touch $@ $(VENV)/.stamp-demo

demo: dot $(VENV)/.stamp-demo
	$(PY) -m autograd_lite train

lint: $(VENV)/.stamp-dev
	$(PY) -m ruff check .

test: dot chromium $(VENV)/.stamp-dev lint
	$(PY) -m pytest

bench: $(VENV)/.stamp-demo
	$(PY) benchmarks/run.py

docs: dot chromium $(VENV)/.stamp-dev
	$(PY) -m autograd_lite graph "(x @ W + b).tanh().sum()" --var x=3,4 --var W=4,2 --var b=2 --backward --force -o docs/graph.svg
	$(PY) docs/graph_check.py
	$(PY) docs/step_through.py

# Notebooks are stored executed so a code host shows their outputs.
notebooks: dot $(VENV)/.stamp-dev
	$(PY) docs/execute_notebooks.py notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache runs
