# Every target creates .venv and installs the project into it when needed, so a
# fresh clone needs only `make lab` or `make test`.
# On Windows (no make), see README.md for the same steps as plain commands.

PYTHON ?= $(shell command -v python3 2>/dev/null || command -v python)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab solutions test system-tools serve bench student grade gradescope github-classroom stages book clean distclean

# pip's --quiet twice: errors only, so the set-up prints two lines when all is well.
$(STAMP): pyproject.toml
	@echo "Setting up $(VENV): the project, with the packages of the notebooks and tests (a minute or two)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --quiet -e ".[test,teach]"
	@touch $(STAMP)
	@echo "$(VENV) is ready"

lab: $(STAMP)  ## open your workspace: student copies, made once and never overwritten
	$(BIN)/python -m httpserver.classroom.workspace --notebooks notebooks --into workspace
	$(BIN)/jupyter lab workspace/

solutions: $(STAMP)  ## open the instructor's chapters, with every answer
	$(BIN)/jupyter lab notebooks/

# Four workers on any machine: most tests wait on sockets and clocks, not on the CPU.
# --dist loadfile keeps each file (and each notebook's cells) on one worker, in order.
test: $(STAMP) system-tools  ## every test, then every notebook (nbval), four at a time
	$(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env -n 4 --dist loadfile

# Two programs some tests need from the system: headless Chromium (the book, the server's
# pages, read as a browser reads them) and bubblewrap (the sandbox grading runs students'
# code in). A CI machine starts without them: as root on Debian or Ubuntu they are
# installed with apt-get, saying so; anywhere else (a learner's laptop) a missing one skips
# the tests that need it, each saying why. NO_SYSTEM_INSTALL=1 never installs.
system-tools:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	    || command -v google-chrome >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	if [ -n "$$missing" ] && [ -z "$(NO_SYSTEM_INSTALL)$(NO_BROWSER_INSTALL)" ] && [ "$$(id -u)" = 0 ] \
	    && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing$$missing with apt-get for the tests that need them (root on Debian; NO_SYSTEM_INSTALL=1 skips this)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } \
		  || echo "apt-get could not install$$missing: the tests that need them will be skipped"; \
	fi

serve: $(STAMP)  ## the server on the default site, http://127.0.0.1:4221/
	$(BIN)/python -m httpserver

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@

bench: $(VENV)/.bench-installed  ## load test every model against python -m http.server, nginx and uvicorn (when installed)
	$(BIN)/python -m httpserver.bench

student: $(STAMP)  ## student copies in build/student/ for handing out (never overwritten)
	$(BIN)/python -m httpserver.classroom.workspace --notebooks notebooks --into build/student

$(VENV)/.book-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[book]"
	touch $@

book: $(VENV)/.book-installed  ## execute every chapter and render it with its figures: build/book/index.html
	$(BIN)/python -m httpserver.book --out build/book

stages: $(STAMP)  ## every stage against notebooks/my_server.py (when present) and the package's server
	@if [ -f notebooks/my_server.py ]; then \
		echo "== notebooks/my_server.py"; \
		$(BIN)/python -m httpserver.stages --cmd "python notebooks/my_server.py --port {port} --root {root} --directory {directory}"; \
	fi
	@echo "== python -m httpserver"
	$(BIN)/python -m httpserver.stages --cmd "python -m httpserver --port {port} --root {root} --directory {directory} --quiet"

# CHAPTERS="02 03" limits grading and the exports to those chapters; JOBS=N sets the sandboxes
# run at once (default: one per core).
CHAPTER_OPTIONS = $(foreach chapter,$(CHAPTERS),--chapter $(chapter))

grade: $(STAMP)  ## grade a class in sandboxes: make grade SUBMISSIONS=folder (one folder per student)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder [CHAPTERS=\"02 03\"] [JOBS=2]"; exit 2; }
	$(BIN)/python -m httpserver.classroom.grade "$(SUBMISSIONS)" --out grades $(CHAPTER_OPTIONS) $(if $(JOBS),--jobs $(JOBS))

gradescope: $(STAMP)  ## a Gradescope autograder: build/gradescope/autograder.zip
	$(BIN)/python -m httpserver.classroom.gradescope export --out build/gradescope $(CHAPTER_OPTIONS)

github-classroom: $(STAMP)  ## a GitHub Classroom template repository: build/github-classroom/
	$(BIN)/python -m httpserver.classroom.github_classroom export --out build/github-classroom $(CHAPTER_OPTIONS)

clean:  ## generated files only: workspace/ (the learner's work) and grades/ stay
	rm -rf build .pytest_cache .hypothesis
	find . -name __pycache__ -prune -not -path "./$(VENV)/*" -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
