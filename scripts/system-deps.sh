#!/usr/bin/env bash
# Installs the system packages the test suite drives for real (with `deploy`, also those of make test-deploy): PostgreSQL 15's server binaries and
# Debian's Chromium (the dashboard's browser tests drive it through Playwright; never `playwright install`).
set -euo pipefail

need=()
if [ "${1:-}" = deploy ]; then
  # make test-deploy: Debian's Docker engine and compose, promtool, debootstrap (kubectl is on the machine)
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v docker-compose >/dev/null || need+=(docker-compose)
  command -v promtool >/dev/null || need+=(prometheus)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v kubectl >/dev/null || echo "kubectl is missing: the Kubernetes tests will fail (install kubectl)" >&2
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
if [ ! -x /usr/bin/chromium ]; then
  need+=(chromium)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${need[*]} — install them (apt-get install ${need[*]}) or run as root" >&2
    exit 1
  fi
  echo "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
