#!/usr/bin/env bash
# Installs what the tests use (idempotent): Debian's redis-server, chromium, curl, prometheus (for
# promtool) and prometheus-alertmanager, the Go modules,
# and, with --images and a reachable Docker engine, the local container images.
# Nothing is downloaded but Debian packages and Go modules.
set -euo pipefail
cd "$(dirname "$0")/.."
images=0
[ "${1:-}" = "--images" ] && images=1
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# the on-call path of runs with topology.Spec.Alertmanager (harness/provider/local/alertmanager.go)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
# curl: the HTTP-fault hooks of the target file `chaos up --write-target` writes
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing ${need[*]}: install them (Debian/Ubuntu: sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Only the binaries are wanted (redis-server, promtool, alertmanager): forbid the
  # packages' services from starting, so no redis, Prometheus or Alertmanager is left running.
  policy=/usr/sbin/policy-rc.d; own_policy=0
  if [ ! -e $policy ]; then printf '#!/bin/sh\nexit 101\n' > $policy; chmod +x $policy; own_policy=1; fi
  rc=0; apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || rc=$?
  if [ $own_policy = 1 ]; then rm -f $policy; fi
  if [ $rc != 0 ]; then exit $rc; fi
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
