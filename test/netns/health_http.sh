#!/usr/bin/env bash
# health_ping.sh with http checks (reference §6.1 TestHealthcheckHTTP): r1 and r2 check
# http://10.77.0.1:8080/health, served by python3's http.server in their own namespaces; r1's server is stopped
# to fail its check and started again to restore it. See health_ping.sh for the topology and what is checked.
# Run alone: `ctest -R netns.health_http` or `NY_BUILD_DIR=<build> bash test/netns/health_http.sh`.
set -eu -o pipefail
NY_HEALTH_KIND=http exec bash "$(dirname "${BASH_SOURCE[0]}")/health_ping.sh"
