# Set-up and the two jobs of the README: `make run` (the service on the embedded defaults) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
# llama.cpp is built for the instruction sets this CPU reports, never for its AMX unit (VMs here forbid it: the
# first inference dies with "Illegal instruction"), and never with -march=native (which would enable AMX). The
# wheel is kept per set of flags, so a machine with another CPU builds its own instead of reusing a wheel that
# crashes on it (pip's own cache does not tell builds with different CMAKE_ARGS apart).
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
cpu_has = $(if $(filter $(1),$(CPU_FLAGS)),ON,OFF)
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=$(call cpu_has,avx) -DGGML_AVX2=$(call cpu_has,avx2) \
	-DGGML_FMA=$(call cpu_has,fma) -DGGML_F16C=$(call cpu_has,f16c) -DGGML_AVX512=$(call cpu_has,avx512f) \
	-DGGML_AVX512_VBMI=$(call cpu_has,avx512vbmi) -DGGML_AVX512_VNNI=$(call cpu_has,avx512_vnni) \
	-DGGML_AVX512_BF16=$(call cpu_has,avx512_bf16) -DGGML_AVX_VNNI=$(call cpu_has,avx_vnni)
LLAMA_REQUIREMENT := $(shell grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml)
LLAMA_WHEELS := $(HOME)/.cache/ragsql/wheels/$(LLAMA_REQUIREMENT)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | sha1sum | cut -c1-12)

.PHONY: install browser run test lint bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	ls $(LLAMA_WHEELS)/*.whl >/dev/null 2>&1 || CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" \
		$(PY) -m pip wheel -q --no-deps --no-cache-dir -w $(LLAMA_WHEELS) '$(LLAMA_REQUIREMENT)'
	$(PY) -m pip install -q --find-links $(LLAMA_WHEELS) -e '.[model,small-model,dev]'
	touch $@

run: install
	$(VENV)/bin/ragsql serve

# The playground's browser tests drive Debian's Chromium: Playwright's own browser download needs the internet.
browser:
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium) || \
		echo "chromium could not be installed: the playground's browser tests will be skipped"

test: install browser
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
