/* upstream_info.h - one upstream's health as the operator sees it (metrics, control) */
#ifndef DNS64D_UPSTREAM_INFO_H
#define DNS64D_UPSTREAM_INFO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct upstream_info {
	struct sockaddr_storage addr;
	bool down;
	uint32_t srtt_us, rttvar_us;
	unsigned timeouts, failures; /* consecutive */
	uint64_t last_change_ms;
};

#endif
