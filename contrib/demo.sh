#!/usr/bin/env bash
# The README's first command: install dependencies, build nylon, show its command line, and run the WireGuard
# engine against a stock WireGuard peer (Debian's wireguard-go) in two network namespaces, both ways round.
# Run as root on Debian 12. Everything it creates is removed when it exits.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${NY_DEMO_BUILD_DIR:-$top/build}

bash "$top/contrib/install-deps.sh"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)"

echo
echo "== nylon --help"
"$build/src/nylon" --help
echo
echo "== a key pair (private on stdout, public on stderr)"
"$build/src/nylon" key
echo
echo "== our WireGuard engine <-> wireguard-go, in network namespaces"
NY_BUILD_DIR="$build" NY_VERBOSE=1 bash "$top/test/netns/wg_interop.sh"
