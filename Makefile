# Every target creates .venv and installs the project into it when needed, so a
# fresh clone needs only `make lab` or `make test`.
# On Windows (no make), see README.md for the same steps as plain commands.

PYTHON ?= $(shell command -v python3 2>/dev/null || command -v python)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test serve bench student stages book clean distclean

# pip's --quiet twice: errors only, so the set-up prints two lines when all is well.
$(STAMP): pyproject.toml
	@echo "Setting up $(VENV): the project, with the packages of the notebooks and tests (a minute or two)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --quiet -e ".[test]"
	@touch $(STAMP)
	@echo "$(VENV) is ready"

lab: $(STAMP)  ## open the chapters in JupyterLab
	$(BIN)/jupyter lab notebooks/

test: $(STAMP)  ## every test, then every notebook (nbval)
	$(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env

serve: $(STAMP)  ## the server on the default site, http://127.0.0.1:4221/
	$(BIN)/python -m httpserver

bench: $(STAMP)  ## load test every model against python -m http.server
	$(BIN)/python -m httpserver.bench

student: $(STAMP)  ## student copies of the notebooks in build/student/
	$(BIN)/python -m httpserver.lab.student notebooks build/student

$(VENV)/.book-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[book]"
	touch $@

book: $(VENV)/.book-installed  ## execute every chapter and render it with its figures: build/book/index.html
	$(BIN)/python -m httpserver.lab.book --out build/book

stages: $(STAMP)  ## every stage against notebooks/my_server.py (when present) and the package's server
	@if [ -f notebooks/my_server.py ]; then \
		echo "== notebooks/my_server.py"; \
		$(BIN)/python -m httpserver.stages --cmd "python notebooks/my_server.py --port {port} --root {root} --directory {directory}"; \
	fi
	@echo "== python -m httpserver"
	$(BIN)/python -m httpserver.stages --cmd "python -m httpserver --port {port} --root {root} --directory {directory} --quiet"

clean:
	rm -rf build .pytest_cache .hypothesis
	find . -name __pycache__ -prune -not -path "./$(VENV)/*" -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
