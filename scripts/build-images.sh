#!/usr/bin/env bash
# Builds the harness's container images locally. The docker engine is air-gapped (no registry
# pulls), so every image is either FROM scratch + a static Go binary, or (redis, prometheus,
# alertmanager) a root filesystem assembled from the host's Debian package and imported.
#
# Usage: scripts/build-images.sh [--check] [--force] [IMAGE...]
#   IMAGE    one of: toxiproxy redis embedded-dynamodb agent-runtime global-lb prometheus
#            alertmanager (default: all)
#   --check  only report which agentops/*:local images are present, stale-unknown or missing;
#            exits 1 when any is missing.
#   --force  rebuild even when the inputs hash label matches.
#
# Idempotent: each image carries the label org.agentops.failover-harness.inputs=<sha256 of its
# inputs>; an image whose label matches the freshly computed hash is left alone.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG="${IMAGE_TAG:-local}"
LABEL="org.agentops.failover-harness=1"
HASH_LABEL="org.agentops.failover-harness.inputs"
ALL=(toxiproxy redis embedded-dynamodb agent-runtime global-lb prometheus alertmanager)

CHECK=0
FORCE=0
WANT=()
for arg in "$@"; do
	case "$arg" in
	--check) CHECK=1 ;;
	--force) FORCE=1 ;;
	-h | --help)
		sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	-*)
		echo "build-images: unknown flag $arg" >&2
		exit 2
		;;
	*)
		case " ${ALL[*]} " in
		*" $arg "*) WANT+=("$arg") ;;
		*)
			echo "build-images: unknown image '$arg' (want one of: ${ALL[*]})" >&2
			exit 2
			;;
		esac
		;;
	esac
done
[ ${#WANT[@]} -eq 0 ] && WANT=("${ALL[@]}")

if ! command -v docker >/dev/null 2>&1; then
	echo "build-images: docker CLI not found on PATH" >&2
	exit 1
fi
if ! out="$(docker info --format '{{.ServerVersion}}' 2>&1)"; then
	echo "build-images: docker engine unreachable (is the daemon running / DOCKER_HOST right?): $out" >&2
	exit 1
fi

# image_label NAME -> prints the inputs hash label of agentops/NAME:TAG, or nothing.
image_label() {
	docker image inspect -f "{{index .Config.Labels \"$HASH_LABEL\"}}" "agentops/$1:$TAG" 2>/dev/null || true
}
image_present() { docker image inspect "agentops/$1:$TAG" >/dev/null 2>&1; }

if [ "$CHECK" = 1 ]; then
	missing=0
	for n in "${WANT[@]}"; do
		if image_present "$n"; then
			printf 'present  agentops/%s:%s  inputs=%s\n' "$n" "$TAG" "$(image_label "$n" | cut -c1-12)"
		else
			printf 'MISSING  agentops/%s:%s\n' "$n" "$TAG"
			missing=1
		fi
	done
	exit "$missing"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/agentops-images.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# go_pkg NAME -> Go main package to build for NAME.
go_pkg() {
	case "$1" in
	toxiproxy) echo "github.com/Shopify/toxiproxy/v2/cmd/server" ;;
	*) echo "./runtime/cmd/$1" ;;
	esac
}

# sha of a list of files (path-independent content + the base name, so renames count).
hash_files() {
	for f in "$@"; do
		printf '%s ' "$(basename "$f")"
		sha256sum <"$f" | cut -d' ' -f1
	done | sha256sum | cut -d' ' -f1
}

# build_go NAME: go build a static binary, then docker build FROM scratch with a tiny context.
build_go() {
	local n="$1" pkg ctx hash
	pkg="$(go_pkg "$n")"
	if [ "${pkg#./}" != "$pkg" ] && ! ls "$ROOT/${pkg#./}"/*.go >/dev/null 2>&1; then
		echo "FAILED   agentops/$n:$TAG: main package $pkg is not on disk yet" >&2
		return 1
	fi
	ctx="$WORK/$n"
	mkdir -p "$ctx"
	# -trimpath + -buildvcs=false make the binary reproducible, so its hash detects real changes.
	if ! (cd "$ROOT" && CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false \
		-ldflags='-s -w' -o "$ctx/$n" "$pkg"); then
		echo "FAILED   agentops/$n:$TAG: go build $pkg failed" >&2
		return 1
	fi
	cp "$ROOT/images/$n/Dockerfile" "$ctx/Dockerfile"
	hash="$(hash_files "$ctx/Dockerfile" "$ctx/$n")"
	if [ "$FORCE" = 0 ] && [ "$(image_label "$n")" = "$hash" ]; then
		echo "up-to-date agentops/$n:$TAG (inputs ${hash:0:12})"
		return 0
	fi
	# The legacy builder is used on purpose: it needs no buildx plugin and never pulls for scratch.
	if ! DOCKER_BUILDKIT=0 docker build -q --label "$LABEL" --label "$HASH_LABEL=$hash" \
		-t "agentops/$n:$TAG" "$ctx" >"$WORK/$n.log" 2>&1; then
		cat "$WORK/$n.log" >&2
		echo "FAILED   agentops/$n:$TAG: docker build failed" >&2
		return 1
	fi
	echo "built    agentops/$n:$TAG (inputs ${hash:0:12}, $(du -h "$ctx/$n" | cut -f1) binary)"
}

# build_redis: root filesystem = the host's Debian redis-server binary + the shared libraries
# ldd reports + the dynamic loader, imported with `docker import` (no base image to pull).
build_redis() {
	local n=redis rootfs="$WORK/redis-rootfs" bin cli hash lib
	bin="$(readlink -f "$(command -v redis-server || true)" 2>/dev/null || true)"
	cli="$(readlink -f "$(command -v redis-cli || true)" 2>/dev/null || true)"
	if [ -z "$bin" ] || [ ! -x "$bin" ] || [ -z "$cli" ]; then
		echo "FAILED   agentops/redis:$TAG: redis-server/redis-cli not installed on the host (apt-get install redis-server)" >&2
		return 1
	fi
	mkdir -p "$rootfs/usr/bin" "$rootfs/tmp" "$rootfs/data" "$rootfs/etc"
	chmod 1777 "$rootfs/tmp"
	# Copied under its real name: redis picks its mode from argv[0] (redis-check-rdb vs server).
	cp "$bin" "$rootfs/usr/bin/redis-server"
	cp "$cli" "$rootfs/usr/bin/redis-cli"
	echo 'root:x:0:0:root:/data:/usr/bin/redis-server' >"$rootfs/etc/passwd"
	echo 'root:x:0:' >"$rootfs/etc/group"
	# Libraries (and the loader, ld-linux) at the same absolute paths as on the host.
	for lib in $( (ldd "$bin"; ldd "$cli") | grep -oE '/[^ ]+' | sort -u); do
		mkdir -p "$rootfs$(dirname "$lib")"
		cp -L "$lib" "$rootfs$lib"
	done
	local cmd='CMD ["/usr/bin/redis-server","--bind","0.0.0.0","--port","6379","--save","","--appendonly","no","--protected-mode","no","--dir","/data"]'
	hash="$( (cd "$rootfs" && find . -type f | LC_ALL=C sort | xargs sha256sum; echo "$cmd") | sha256sum | cut -d' ' -f1)"
	if [ "$FORCE" = 0 ] && [ "$(image_label "$n")" = "$hash" ]; then
		echo "up-to-date agentops/$n:$TAG (inputs ${hash:0:12})"
		return 0
	fi
	if ! tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . | docker import \
		--change "$cmd" \
		--change 'EXPOSE 6379' \
		--change 'WORKDIR /data' \
		--change "LABEL $LABEL" \
		--change "LABEL $HASH_LABEL=$hash" \
		- "agentops/$n:$TAG" >"$WORK/$n.log" 2>&1; then
		cat "$WORK/$n.log" >&2
		echo "FAILED   agentops/$n:$TAG: docker import failed" >&2
		return 1
	fi
	echo "built    agentops/$n:$TAG (inputs ${hash:0:12}, redis $("$rootfs/usr/bin/redis-server" --version | grep -oE 'v=[0-9.]+'))"
}

# build_hostbin NAME SRC BIN PORT DATA HINT [SHARE...]: root filesystem = the host's Debian
# binary SRC (copied to /usr/bin/BIN) + the libraries ldd lists + the loader + the package's
# data directories SHARE (same paths; Debian's alertmanager reads its notification templates
# from /usr/share/prometheus/alertmanager and will not start without them), `docker import`ed with
# ENTRYPOINT /usr/bin/BIN, so a container's command is only flags, as with the upstream
# prom/* images (whose entrypoints are /bin/BIN). DATA is a writable state directory, the
# working directory. Prometheus and Alertmanager are Go binaries linked against libc only.
build_hostbin() {
	local n="$1" src="$2" name="$3" port="$4" data="$5" hint="$6" rootfs bin hash lib share
	shift 6
	rootfs="$WORK/$n-rootfs"
	bin="$(readlink -f "$(command -v "$src" || true)" 2>/dev/null || true)"
	if [ -z "$bin" ] || [ ! -x "$bin" ]; then
		# Optional: only a run with --alertmanager / --prometheus needs it,
		# and that run says so; every other topology starts without it.
		echo "skipped  agentops/$n:$TAG: $src not installed on the host ($hint); needed only with --$n"
		return 0
	fi
	mkdir -p "$rootfs/usr/bin" "$rootfs/tmp" "$rootfs$data" "$rootfs/etc/$name"
	chmod 1777 "$rootfs/tmp"
	chmod 0777 "$rootfs$data"
	cp "$bin" "$rootfs/usr/bin/$name"
	echo "root:x:0:0:root:$data:/usr/bin/$name" >"$rootfs/etc/passwd"
	echo 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >>"$rootfs/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
	# Names are resolved by Docker's embedded DNS (the run network's aliases).
	echo 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"
	for lib in $(ldd "$bin" | grep -oE '/[^ ]+' | sort -u); do
		mkdir -p "$rootfs$(dirname "$lib")"
		cp -L "$lib" "$rootfs$lib"
	done
	for share in "$@"; do
		if [ ! -d "$share" ]; then
			echo "FAILED   agentops/$n:$TAG: $share missing on the host ($hint)" >&2
			return 1
		fi
		mkdir -p "$rootfs$(dirname "$share")"
		cp -rL "$share" "$rootfs$share"
	done
	local entry="ENTRYPOINT [\"/usr/bin/$name\"]"
	hash="$( (cd "$rootfs" && find . -type f | LC_ALL=C sort | xargs sha256sum; echo "$entry $port $data") | sha256sum | cut -d' ' -f1)"
	if [ "$FORCE" = 0 ] && [ "$(image_label "$n")" = "$hash" ]; then
		echo "up-to-date agentops/$n:$TAG (inputs ${hash:0:12})"
		return 0
	fi
	if ! tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . | docker import \
		--change "$entry" \
		--change "EXPOSE $port" \
		--change "WORKDIR $data" \
		--change "LABEL $LABEL" \
		--change "LABEL $HASH_LABEL=$hash" \
		- "agentops/$n:$TAG" >"$WORK/$n.log" 2>&1; then
		cat "$WORK/$n.log" >&2
		echo "FAILED   agentops/$n:$TAG: docker import failed" >&2
		return 1
	fi
	echo "built    agentops/$n:$TAG (inputs ${hash:0:12}, $("$rootfs/usr/bin/$name" --version 2>&1 | head -1))"
}

failed=()
for n in "${WANT[@]}"; do
	case "$n" in
	redis) build_redis || failed+=("$n") ;;
	prometheus)
		build_hostbin prometheus prometheus prometheus 9090 /prometheus \
			'apt-get install prometheus; scripts/ci-setup.sh does' || failed+=("$n")
		;;
	alertmanager)
		build_hostbin alertmanager prometheus-alertmanager alertmanager 9093 /alertmanager \
			'apt-get install prometheus-alertmanager; scripts/ci-setup.sh does' \
			/usr/share/prometheus/alertmanager || failed+=("$n")
		;;
	*) build_go "$n" || failed+=("$n") ;;
	esac
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "build-images: failed: ${failed[*]}" >&2
	exit 1
fi
echo "build-images: all requested images ready: ${WANT[*]}"
