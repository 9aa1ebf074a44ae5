#!/usr/bin/env bash
# Installs the system packages the tests use (idempotent) and builds the local container images
# when a Docker engine is reachable. Nothing is downloaded but Debian packages and Go modules.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "ci-setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
go mod download
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  echo "ci-setup: docker engine reachable: building local images"
  bash scripts/build-images.sh
else
  echo "ci-setup: no docker engine: docker-provider tests will be skipped"
fi
