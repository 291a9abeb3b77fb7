/* The io_uring backend (placeholder until it lands): reports itself unavailable so AUTO uses epoll. */
#include <errno.h>

#include "io/backend.h"

int ny_io_uring_create(struct ny_io **out, const char **why)
{
	*why = "io_uring backend not built yet";
	return -ENOSYS;
}
