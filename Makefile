# Two entry points on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
SCANNER_VENV := .venv-checkov
BIN := $(VENV)/bin
# The scanner extra of setup.cfg (checkov's pin), for checkov's own virtualenv.
SCANNER := $$($(PYTHON) -c 'import configparser; c = configparser.ConfigParser(); c.read("setup.cfg"); print(c["options.extras_require"]["scanner"].strip())')

.PHONY: demo test goldens lock mutation browser typecheck clean

# Exactly the versions of constraints.txt (`make lock` moves them), so CI runs what was tested.
$(BIN)/.installed: setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,local]'
	$(BIN)/python -m compileall -q src  # as a regular install would: an editable one never compiles cfngen
	touch $@

# checkov gets a virtualenv of its own: it pins a boto3 older than cfngen's.
$(SCANNER_VENV)/bin/.installed: setup.cfg constraints-checkov.txt
	$(PYTHON) -m venv $(SCANNER_VENV)
	$(SCANNER_VENV)/bin/pip install --quiet --upgrade pip
	$(SCANNER_VENV)/bin/pip install --quiet -c constraints-checkov.txt "$(SCANNER)"
	touch $@

# Synthesize and lint the example, then deploy it to the embedded AWS emulator: plan -> apply -> re-plan.
demo: $(BIN)/.installed
	$(BIN)/cfngen synth blueprints/demo.yaml -o out/demo
	$(BIN)/cfngen lint out/demo
	$(BIN)/cfngen deploy blueprints/demo.yaml --local

# The review report's HTML is checked in headless Chromium (Debian's package; CI runs as root).
browser:
	@[ -x /usr/bin/chromium ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

test: $(BIN)/.installed $(SCANNER_VENV)/bin/.installed browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	CFNGEN_CHECKOV=$(SCANNER_VENV)/bin/checkov $(BIN)/pytest

# Regenerate every golden file (templates/ of the example blueprints, tests/golden/render/, tests/golden/review/),
# delete the ones nothing renders any more, and show the diff: review it, then commit.
goldens: $(BIN)/.installed
	$(BIN)/python -m tests.goldens

# Move the pins: the newest versions setup.cfg allows, resolved in scratch virtualenvs, into constraints.txt and
# constraints-checkov.txt. Then `make test`, and commit both files. (cfn-lint is pinned in setup.cfg itself: moving
# it means verifying the speedups again, see src/cfngen/linting/_speedups.py.)
LOCK_VENV := .venv-lock
lock:
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/pip install --quiet '.[test,local,mutation]'
	{ sed -n '/^#/p' constraints.txt; $(LOCK_VENV)/bin/pip freeze --exclude-editable | grep -v '^cfngen[ =]'; } > constraints.txt.new
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/pip install --quiet "$(SCANNER)"
	{ sed -n '/^#/p' constraints-checkov.txt; $(LOCK_VENV)/bin/pip freeze; } > constraints-checkov.txt.new
	mv constraints.txt.new constraints.txt && mv constraints-checkov.txt.new constraints-checkov.txt
	rm -rf $(LOCK_VENV) build
	git diff --stat -- constraints.txt constraints-checkov.txt

# Mutation check of the safety-critical modules (slow; not part of `make test`): survivors, then the score.
mutation: $(BIN)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[mutation]'
	$(BIN)/python benchmarks/mutation.py

clean:
	rm -rf $(VENV) $(SCANNER_VENV) out build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .hypothesis
