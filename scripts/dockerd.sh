#!/usr/bin/env bash
# A private Docker engine for the deployment tests and `make image` on a machine with the client only:
#   scripts/dockerd.sh start DIR   starts Debian's dockerd (installing docker.io when missing) with its data,
#                                  socket and pid file under DIR; prints the DOCKER_HOST to use
#   scripts/dockerd.sh stop DIR    stops that daemon (by its pid) and removes DIR
# It has no bridge and touches no iptables (several may run on one machine): containers use --network host.
set -euo pipefail
action=${1:?usage: dockerd.sh start|stop DIR}
dir=${2:?usage: dockerd.sh start|stop DIR}

case "$action" in
start)
  if ! command -v dockerd >/dev/null; then
    [ "$(id -u)" -eq 0 ] || { echo "dockerd is missing: apt-get install docker.io (as root)" >&2; exit 1; }
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  [ "$(id -u)" -eq 0 ] || { echo "dockerd needs root" >&2; exit 1; }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    --host "unix://$dir/docker.sock" --bridge none --iptables=false --ip6tables=false --ip-masq=false \
    --storage-driver overlay2 >"$dir/dockerd.log" 2>&1 &
  for _ in $(seq 1 120); do
    if DOCKER_HOST="unix://$dir/docker.sock" docker version >/dev/null 2>&1; then
      echo "unix://$dir/docker.sock"
      exit 0
    fi
    sleep 0.5
  done
  echo "dockerd did not come up; its log:" >&2
  tail -20 "$dir/dockerd.log" >&2
  exit 1
  ;;
stop)
  if [ -f "$dir/dockerd.pid" ]; then
    pid=$(cat "$dir/dockerd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # overlay mounts left by a daemon that was killed would keep the directory busy
  grep -o " $dir/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: dockerd.sh start|stop DIR" >&2
  exit 2
  ;;
esac
