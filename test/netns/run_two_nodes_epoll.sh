#!/usr/bin/env bash
# run_two_nodes.sh with the epoll I/O backend forced (`nylon run --io epoll`), so the fallback backend keeps
# being tested once `auto` picks io_uring.
NY_IO_BACKEND=epoll exec bash "$(dirname "${BASH_SOURCE[0]}")/run_two_nodes.sh"
