#!/bin/sh
# Installs what imapscope needs to build and test, from Debian's packages.
# Idempotent: installs only what is missing. Run as root, or with sudo on PATH.
set -eu

# build: compiler, cmake, libraries
PKGS="build-essential cmake pkg-config libpcap-dev libjson-c-dev zlib1g-dev libssl-dev"
# tests: Criterion, the JSON Schema validator, clang for the fuzz targets,
# Dovecot for the live tests, groff for the man page, script(1) for the
# terminal test, clang-tidy and cppcheck for make lint
PKGS="$PKGS libcriterion-dev python3 python3-jsonschema clang libclang-rt-14-dev"
PKGS="$PKGS dovecot-imapd tcpdump iproute2 openssl groff-base clang-tidy cppcheck bsdutils"
[ "${1:-}" = "--build-only" ] && PKGS="build-essential cmake pkg-config libpcap-dev libjson-c-dev zlib1g-dev libssl-dev"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install:$missing" >&2; exit 1; }
	SUDO=sudo
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
