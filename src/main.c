/* nylon: a self-healing WireGuard mesh. Command dispatch lives in src/cli/. */
#include "nylon/cli.h"

int main(int argc, char **argv)
{
	return ny_cli_main(argc, argv);
}
