# syntax=docker/dockerfile:1
# tminus: deadline and milestone notifier (SPEC "Docker").
#   docker build -t tminus .
#   docker run -p 8080:8080 -v tminus-data:/data -v "$PWD/config:/config:ro" tminus
# scripts/image-test.sh builds and runs this image with podman and checks it behaves.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- builder: the wheel of tminus and wheels of its pinned dependencies ---------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# Dependencies first, so this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.lock
COPY pyproject.toml README.md ./
COPY scheduler ./scheduler
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# -- runtime: a fresh virtual environment, no compilers, no build files ----------------
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/tminus/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TMINUS_CONFIG=/config \
    TMINUS_DATABASE_URL=sqlite:////data/tminus.db \
    TMINUS_HOST=0.0.0.0 \
    TMINUS_PORT=8080 \
    TMINUS_LOG_FORMAT=json

RUN groupadd --system --gid 10001 tminus \
    && useradd --system --uid 10001 --gid tminus --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin tminus \
    && mkdir -p /data /config \
    && chown tminus:tminus /data

# The wheels are bind-mounted from the builder: they never land in a layer. The image
# includes the apprise extra (type: apprise channels), pinned in requirements.lock.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m venv /opt/tminus \
    && /opt/tminus/bin/pip install --no-cache-dir --no-index --find-links=/wheels "tminus[apprise]"

# The built-in config sends nothing (no channels) and says so at start; mount your own
# directory of *.yaml files over /config (read-only).
COPY config/image/ /config/

VOLUME /data
WORKDIR /data
# Numeric, so Kubernetes runAsNonRoot can verify it (uid 10001 is the user "tminus").
USER 10001:10001
EXPOSE 8080

# No curl in a slim image: the interpreter is already there.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('TMINUS_PORT', '8080'), timeout=3)"]

# Exec form: tminus is PID 1 and receives SIGTERM (graceful stop) and SIGHUP (reload).
ENTRYPOINT ["tminus"]
CMD ["run"]
