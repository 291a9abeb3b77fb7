#!/usr/bin/env bash
# route_line.sh with the epoll I/O backend forced (`nylon run --io epoll`), so forwarding through a relay is
# also tested on the fallback backend once `auto` picks io_uring. Other flags in NY_NYLON_ARGS are kept.
NY_NYLON_ARGS="${NY_NYLON_ARGS:+$NY_NYLON_ARGS }--io epoll" exec bash "$(dirname "${BASH_SOURCE[0]}")/route_line.sh"
