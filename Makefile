# Set-up and the two jobs of the README: `make run` (the service on the embedded defaults) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
# llama.cpp must not target this CPU's AMX unit (the VM forbids it: "Illegal instruction"); pip caches the
# wheel it builds, so later installs take seconds.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON

.PHONY: install run test lint bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install -q -e '.[model,dev]'
	touch $@

run: install
	$(VENV)/bin/ragsql serve

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
