# Two entry points on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
SCANNER_VENV := .venv-checkov
BIN := $(VENV)/bin

.PHONY: demo test goldens browser typecheck clean

$(BIN)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,local]'
	$(BIN)/python -m compileall -q src  # as a regular install would: an editable one never compiles cfngen
	touch $@

# checkov gets a virtualenv of its own: it pins a boto3 older than cfngen's.
$(SCANNER_VENV)/bin/.installed: setup.cfg
	$(PYTHON) -m venv $(SCANNER_VENV)
	$(SCANNER_VENV)/bin/pip install --quiet --upgrade pip
	$(SCANNER_VENV)/bin/pip install --quiet "$$($(PYTHON) -c 'import configparser; c = configparser.ConfigParser(); c.read("setup.cfg"); print(c["options.extras_require"]["scanner"].strip())')"
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
	$(BIN)/mypy
	CFNGEN_CHECKOV=$(SCANNER_VENV)/bin/checkov $(BIN)/pytest

# Regenerate every golden file (templates/ of the example blueprints, tests/golden/render/, tests/golden/review/),
# delete the ones nothing renders any more, and show the diff: review it, then commit.
goldens: $(BIN)/.installed
	$(BIN)/python -m tests.goldens

clean:
	rm -rf $(VENV) $(SCANNER_VENV) out build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .hypothesis
