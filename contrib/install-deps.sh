#!/usr/bin/env bash
# Installs every Debian package nylon needs to build, test, fuzz and benchmark. Run as root on Debian 12.
set -euo pipefail

packages=(
	# toolchain
	cmake pkg-config gcc make clang libfuzzer-14-dev libclang-rt-14-dev
	# libraries (DESIGN.md §6)
	liburing-dev libsodium-dev libb2-dev libssl-dev libmimalloc-dev liburcu-dev libyaml-dev libmnl-dev libcriterion-dev
	libprotobuf-c-dev protobuf-c-compiler libjson-c-dev libmicrohttpd-dev libcurl4-openssl-dev libc-ares-dev
	# integration tests and the demo: a stock WireGuard peer, namespaces, traffic
	wireguard-go wireguard-tools iproute2 iputils-ping iperf3 procps python3 traceroute
	# DNS endpoints scenario: a name server in a namespace (the binary only, not the dnsmasq service)
	dnsmasq-base
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (apt-get needs it)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	apt-get update -q
	# No recommends: wireguard-tools would otherwise pull in a kernel image.
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
