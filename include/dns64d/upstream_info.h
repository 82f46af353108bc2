/* upstream_info.h - one upstream's health as the operator sees it (metrics, control) */
#ifndef DNS64D_UPSTREAM_INFO_H
#define DNS64D_UPSTREAM_INFO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns64d/upstream_spec.h"

struct upstream_info {
	struct upstream up; /* the server: address, protocol, auth name */
	char zones[256];    /* the lists it is on: "default" (the upstream list), forward zone names; comma-separated */
	bool down;
	uint32_t srtt_us, rttvar_us;
	unsigned timeouts, failures; /* consecutive */
	uint64_t last_change_ms;
};

#endif
