/* TUN queues on Linux: IFF_MULTI_QUEUE so each shard owns one queue, IFF_VNET_HDR with TUNSETOFFLOAD so the
 * kernel hands us (and takes from us) TCP/UDP super-packets instead of MTU-sized ones. */
#include "nylon/io.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20 /* Linux 6.2 */
#define TUN_F_USO6 0x40
#endif

static int set_offloads(int fd, struct ny_io_features *f)
{
	const unsigned base = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	int hdr = NY_IO_VNET_HDR_LEN;

	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return -errno;
	/* USO on TUN arrived in Linux 6.2; older kernels refuse the whole set with EINVAL. */
	if (ioctl(fd, TUNSETOFFLOAD, base | TUN_F_USO4 | TUN_F_USO6) == 0) {
		f->tun_uso = true;
	} else if (ioctl(fd, TUNSETOFFLOAD, base) < 0) {
		return -errno;
	}
	f->tun_vnet = true;
	return 0;
}

int ny_io_tun_open(const char *ifname, bool vnet, int *fd_out, struct ny_io_features *f)
{
	struct ifreq ifr;
	int fd, ret;

	if (strlen(ifname) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | (vnet ? IFF_VNET_HDR : 0);
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		goto fail;
	}
	if (vnet && (ret = set_offloads(fd, f)) < 0)
		goto fail;
	*fd_out = fd;
	return 0;
fail:
	close(fd);
	return ret;
}
