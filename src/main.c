/* nylon: a self-healing WireGuard mesh. Command dispatch lives in src/cli/. */
#include <stdio.h>

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("usage: nylon <command>\n", stderr);
	return 1;
}
