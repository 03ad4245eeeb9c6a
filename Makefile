# The two commands of the README, each doing all setup on a fresh machine:
#   make book   create .venv, install requirements.txt, build the HTML book
#   make test   create .venv, install requirements-dev.txt, run every test
#               (unit, nbval on every chapter, strict book build, browser)
# Also: make outputs CHAPTER=03_stride   re-execute a chapter in place
#       make outputs                      ... every chapter
#       make clean                       remove _build/
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BOOK_STAMP := $(VENV)/.book-installed
DEV_STAMP := $(VENV)/.dev-installed
NBVAL := --nbval --nbval-current-env \
	--nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: book test outputs clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "Python >= 3.11 is needed: make $(MAKECMDGOALS)" \
	       "PYTHON=python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(BOOK_STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

$(DEV_STAMP): requirements-dev.txt $(BOOK_STAMP)
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@

book: $(BOOK_STAMP)
	$(BIN)/jupyter-book build . -n --keep-going
	@echo "The book is built: open _build/html/index.html in a browser."

test: $(DEV_STAMP)
	$(BIN)/python -m pytest $(NBVAL)

outputs: $(BOOK_STAMP)
	$(BIN)/python tools/refresh_outputs.py \
	  $(if $(CHAPTER),book/$(CHAPTER).ipynb,book/[0-9][0-9]_*.ipynb)

clean:
	rm -rf _build
