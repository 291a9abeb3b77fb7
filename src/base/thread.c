/* Thread names, for `top -H`, `ps -L`, perf and gdb: without them every thread of the daemon is "nylon". */
#include <pthread.h>
#include <stdio.h>

#include "nylon/base.h"

void ny_thread_name(const char *fmt, ...)
{
	char name[16]; /* the kernel keeps 15 bytes and the terminator */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	pthread_setname_np(pthread_self(), name); /* best effort: a name is a convenience */
}
