# baton's container image. Two targets:
#   runtime (the default; tagged baton:VERSION and baton:latest): engine, server, workers, model gateway
#   full    (tagged baton:VERSION-full): also the season stack (pandas, statsforecast, …), git and checkov,
#           for `baton season` and `baton build`
# `make image` builds both (and, on a machine that cannot pull images, debian:bookworm-slim itself from
# Debian's packages: scripts/image.sh). Build with `--network host` where the registry needs the host's
# network or proxy.

# -- build: a virtual environment with baton and its dependencies (wheels only; no compiler reaches the
#    final image) ---------------------------------------------------------------------------------------
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# pip trusts Debian's bundle (with any CA added to /usr/local/share/ca-certificates), not only its own.
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python3 -m venv /opt/baton \
 && /opt/baton/bin/pip install --upgrade pip \
 && /opt/baton/bin/pip install .

FROM build AS build-runtime
RUN /opt/baton/bin/pip uninstall -y pip \
 && find /opt/baton -name __pycache__ -prune -exec rm -rf {} +

# -- runtime: Debian's Python, baton's environment, tini, a non-root user ------------------------------
FROM debian:bookworm-slim AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="baton" \
      org.opencontainers.image.description="A durable orchestrator for crews of AI agents" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="debian:bookworm-slim"
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 baton \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/baton --create-home --shell /usr/sbin/nologin baton \
 && mkdir -p /data /workflows \
 && chown 10001:10001 /data
COPY --from=build-runtime /opt/baton /opt/baton
# Containers migrate explicitly (`baton migrate`: the compose service, the Kubernetes Job); servers and
# workers refuse an old schema, naming that command. The store defaults to a SQLite file in /data for a
# single container; set BATON_DATABASE_URL to PostgreSQL to run many.
ENV PATH=/opt/baton/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/workflows \
    HOME=/home/baton \
    BATON_AUTO_MIGRATE=false \
    BATON_DATABASE_URL=sqlite:////data/baton.db \
    BATON_WORKSPACE=/data/workspace \
    BATON_HEALTH_URL=http://127.0.0.1:8000/health
# /data holds what baton writes: the SQLite store of a single container and the workspace of runs
# started over the API. A volume, so it stays writable under a read-only root filesystem.
VOLUME ["/data"]
WORKDIR /workflows
USER 10001:10001
EXPOSE 8000 9000
# The server answers /health on 8000, a worker started with --health-port 9000 on 9000: BATON_HEALTH_URL
# says which (compose and the manifests set it for workers).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['BATON_HEALTH_URL'], timeout=4)"]
# tini is PID 1: it hands SIGTERM to baton (which drains) and reaps what baton's steps leave behind.
ENTRYPOINT ["/usr/bin/tini", "--", "baton"]
CMD ["serve", "--host", "0.0.0.0", "--no-worker", "--proxy-headers"]

# The season stack into baton's environment, and checkov into its own (its pins clash with baton's).
FROM build AS build-full
RUN /opt/baton/bin/pip install '.[season]' \
 && python3 -m venv /opt/checkov \
 && /opt/checkov/bin/pip install 'checkov>=3.2' \
 && /opt/checkov/bin/pip uninstall -y pip \
 && /opt/baton/bin/pip uninstall -y pip \
 && find /opt/baton /opt/checkov -name __pycache__ -prune -exec rm -rf {} +

FROM runtime AS full
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends git python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build-full /opt/baton /opt/baton
COPY --from=build-full /opt/checkov /opt/checkov
RUN ln -s /opt/checkov/bin/checkov /usr/local/bin/checkov
USER 10001:10001

# The default target is the small one.
FROM runtime AS default
