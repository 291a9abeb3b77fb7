#!/usr/bin/env bash
# run_two_nodes.sh with io_uring as Linux 6.1 to 6.6 offer it (`nylon run --io io_uring --dbg-io-uring-compat`:
# COOP_TASKRUN instead of DEFER_TASKRUN, one-shot TUN reads instead of the multishot read). Debian 12's kernel is
# 6.1, so that is the path most of its users take; this keeps it tested on the newer kernel CI runs.
NY_IO_BACKEND=io_uring NY_RUN_FLAGS=--dbg-io-uring-compat NY_EXPECT_IO="io_uring (coop_taskrun, tun one-shot reads)" \
	exec bash "$(dirname "${BASH_SOURCE[0]}")/run_two_nodes.sh"
