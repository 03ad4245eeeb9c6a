# The two commands of the README, each doing all setup on a fresh machine:
#   make book   create .venv, install requirements.txt, build the HTML book
#   make test   create .venv, install requirements-dev.txt and the npm
#               test tools, run every test (unit, nbval on every chapter
#               under two BLAS kernels, strict book build, browser,
#               JupyterLab)
# Also: make lab                         the chapters in JupyterLab
#       make outputs CHAPTER=03_stride   re-execute a chapter in place
#       make outputs                      ... every chapter
#       make clean                       remove _build/
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BOOK_STAMP := $(VENV)/.book-installed
DEV_STAMP := $(VENV)/.dev-installed
NPM_STAMP := node_modules/.installed
CHROMIUM ?= $(or $(CNNBP_CHROMIUM),/usr/bin/chromium)
NBVAL := --nbval --nbval-current-env \
	--nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: book test lab outputs clean check-python check-test-tools

# One line saying what to install, before anything slow starts.
check-python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  2>/dev/null || { echo "make: Python >= 3.11 is needed (found:" \
	  "$$($(PYTHON) --version 2>&1 || echo none)); install it or run" \
	  "make $(MAKECMDGOALS) PYTHON=python3.11"; exit 1; }

check-test-tools:
	@test -x "$(CHROMIUM)" || { echo "make test: Chromium is needed at" \
	  "$(CHROMIUM) for the browser tests: sudo apt-get install -y" \
	  "chromium (or set CNNBP_CHROMIUM=/path/to/chromium)"; exit 1; }
	@command -v npm > /dev/null || { echo "make test: Node.js and npm" \
	  "are needed for eslint and axe-core: sudo apt-get install -y" \
	  "nodejs npm"; exit 1; }

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)

$(BOOK_STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

$(DEV_STAMP): requirements-dev.txt $(BOOK_STAMP)
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

book: check-python $(BOOK_STAMP)
	$(BIN)/jupyter-book build . -n --keep-going
	@echo "The book is built: open _build/html/index.html in a browser."

test: check-python check-test-tools $(DEV_STAMP) $(NPM_STAMP)
	$(BIN)/python -m pytest $(NBVAL)

lab: check-python $(BOOK_STAMP)
	$(BIN)/jupyter lab book/

# The dev requirements too: chapter 11 compares with PyTorch when it is
# installed, as it is for make test, and its stored output must match.
outputs: check-python $(DEV_STAMP)
	$(BIN)/python tools/refresh_outputs.py \
	  $(if $(CHAPTER),book/$(CHAPTER).ipynb,book/[0-9][0-9]_*.ipynb)

clean:
	rm -rf _build
