# ShelterWatch as one image for every process (`shelterwatch serve`, `ingest`, `tick`,
# `db upgrade`, ...): Python 3.11 on Debian (python:3.11-slim), the packages exactly as uv.lock
# pins them (runtime only, no development tools), installed by the uv that
# scripts/uv-requirements.txt pins by hash, run as an unprivileged user. compose.yaml runs
# the whole system from it; deploy/README.md ("Containers") says how.

FROM python:3.11-slim AS build
WORKDIR /opt/shelterwatch
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/shelterwatch/.venv
# uv itself, pinned by version and hash.
COPY scripts/uv-requirements.txt scripts/uv-requirements.txt
RUN pip install --no-cache-dir --require-hashes -r scripts/uv-requirements.txt
# The locked dependencies first (a layer that changes only with the lock), then the project.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-install-project
COPY api api
COPY inspection inspection
COPY telemetry telemetry
RUN uv sync --locked

FROM python:3.11-slim
# The CJK font embedded in PDF documents; pg_dump for `shelterwatch backup`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/shelterwatch --create-home \
        --shell /usr/sbin/nologin shelterwatch
COPY --from=build /opt/shelterwatch /opt/shelterwatch
ENV PATH=/opt/shelterwatch/.venv/bin:$PATH \
    SHELTERWATCH_VAR_DIR=/var/lib/shelterwatch \
    SHELTERWATCH_FILES_DIR=/var/lib/shelterwatch/files \
    SHELTERWATCH_SPOOL_DIR=/var/lib/shelterwatch/spool \
    PYTHONUNBUFFERED=1
USER shelterwatch
WORKDIR /var/lib/shelterwatch
EXPOSE 8000 9108
# serve by default; compose.yaml runs `ingest` from the same image.
CMD ["shelterwatch", "serve", "--host", "0.0.0.0", "--port", "8000"]
