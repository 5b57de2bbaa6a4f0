#!/usr/bin/env bash
# `make image`: build baton's image targets with the Docker engine in DOCKER_HOST (or the default one).
#   TARGETS="runtime full" (default)  runtime -> baton:VERSION, baton:latest; full -> baton:VERSION-full
# When debian:bookworm-slim is neither present nor pullable (an air-gapped machine, or no registry), it is
# made from Debian's packages with debootstrap (--variant=minbase, the same packages as the official image's
# rootfs, built by debuerreotype), with this machine's CA bundle added so that pip works behind a
# re-signing proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=${TARGETS:-runtime full}
base=debian:bookworm-slim
version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

docker version >/dev/null 2>&1 || {
  echo "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-default}): start one (scripts/dockerd.sh start DIR)" >&2
  exit 1
}

if ! docker image inspect "$base" >/dev/null 2>&1 && ! timeout 60 docker pull -q "$base" >/dev/null 2>&1; then
  echo "cannot pull $base: making it from Debian's packages (debootstrap)"
  [ "$(id -u)" -eq 0 ] || { echo "debootstrap needs root" >&2; exit 1; }
  command -v debootstrap >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  mirror=$(sed -n 's/^URIs: //p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  mirror=${mirror:-http://deb.debian.org/debian}
  rootfs=$(mktemp -d /tmp/baton-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
  # As debian:bookworm-slim: no docs, man pages or apt lists; this machine's CAs (for pip and apt over TLS).
  rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
  mkdir -p "$rootfs/usr/local/share/ca-certificates"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/local/share/ca-certificates/host-ca-bundle.crt"
  mkdir -p "$rootfs/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim"
  tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - "$base" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi

for target in $targets; do
  case "$target" in
  runtime) tags=(-t "baton:$version" -t baton:latest) ;;
  full) tags=(-t "baton:$version-full") ;;
  *) echo "unknown target $target (runtime or full)" >&2; exit 2 ;;
  esac
  start=$(date +%s)
  docker build -q --network host --target "$target" "${tags[@]}" \
    --build-arg "VERSION=$version" --build-arg "REVISION=$revision" . >/dev/null
  size=$(docker image inspect -f '{{.Size}}' "${tags[1]}")
  echo "built ${tags[1]} ($target): $((size / 1000000)) MB in $(($(date +%s) - start)) s"
done
