#!/usr/bin/env bash
# Installs what the tests use (idempotent): Debian's redis-server and chromium, the Go modules,
# and, with --images and a reachable Docker engine, the local container images.
# Nothing is downloaded but Debian packages and Go modules.
set -euo pipefail
cd "$(dirname "$0")/.."
images=0
[ "${1:-}" = "--images" ] && images=1
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing ${need[*]}: install them (Debian/Ubuntu: sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
go mod download
if [ $images = 1 ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    echo "setup: docker engine reachable: building local images"
    bash scripts/build-images.sh
  else
    echo "setup: no docker engine: docker-provider tests will be skipped"
  fi
fi
