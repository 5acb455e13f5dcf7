# ragsql service image: the API on the embedded defaults, or against the compose stack's Qdrant server.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ragsql.py ./
COPY service service
COPY indexer indexer
COPY mcp_server mcp_server
COPY eval eval
# Portable llama.cpp build: no -march=native, so the image runs on any x86-64 CPU with AVX2.
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
RUN pip install --no-cache-dir '.[model]'
ENV RAGSQL_HOME=/data RAGSQL_LLM__MODEL_CACHE=/models HF_HUB_OFFLINE=1
VOLUME ["/data", "/models"]
EXPOSE 8000
CMD ["ragsql", "serve", "--host", "0.0.0.0", "--port", "8000"]
