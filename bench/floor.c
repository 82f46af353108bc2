/* floor.c - the bench's floor: a UDP responder that does no DNS work, only the packet I/O.
 *
 * Not part of the daemon build: bench/run.sh builds it with `cc -O2` and runs it pinned to
 * the resolvers' core on the hot workload, so that "CPU per answer" of a resolver can be
 * read against what the kernel and the syscalls alone cost per answer on this machine.
 *
 * Every query is answered with its question echoed, QR (and RA) set, and one fixed answer
 * RR appended: AAAA 64:ff9b::1700:1 for AAAA, A 23.0.0.1 for A, nothing for other types
 * (NOERROR, no answer). Authority and additional sections are dropped (no EDNS). What is
 * not a plain query with one question (QR set, opcode not 0, truncated name) is dropped.
 *
 * I/O has the shape of an event-loop server such as dns64d's listener: a non-blocking
 * socket, epoll_wait, then recvmmsg batches until the socket is empty, and the replies
 * of one batch leave with one sendmmsg. With -b the socket blocks instead and recvmmsg
 * waits for the first datagram (MSG_WAITFORONE): no epoll at all, the lowest syscall
 * count per batch.
 *
 *   floor [-b] [-B batch] ADDR PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH_MAX 256
#define DGRAM_MAX 4096
#define HDR_LEN   12
#define TYPE_A    1
#define TYPE_AAAA 28

struct slot {
	struct sockaddr_storage peer;
	struct iovec iov;
	uint8_t buf[DGRAM_MAX];
};

static struct slot slots[BATCH_MAX];
static struct mmsghdr in_msgs[BATCH_MAX];
static struct mmsghdr out_msgs[BATCH_MAX];

static const uint8_t aaaa_rdata[16] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 1};
static const uint8_t a_rdata[4] = {23, 0, 0, 1};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Turn the query in buf (len bytes) into the reply in place; returns its length, 0 to drop. */
static size_t answer(uint8_t *buf, size_t len)
{
	if (len < HDR_LEN + 5 || (buf[2] & 0x80) || (buf[2] & 0x78) || buf[4] != 0 || buf[5] != 1)
		return 0;
	size_t off = HDR_LEN;
	while (off < len && buf[off] != 0) {
		if (buf[off] & 0xc0)
			return 0; /* a query's name is never compressed */
		off += 1u + buf[off];
	}
	if (off + 5 > len)
		return 0;
	off += 1;
	unsigned qtype = (unsigned)buf[off] << 8 | buf[off + 1];
	off += 4;

	buf[2] = (uint8_t)((buf[2] & 0x01) | 0x80); /* QR, keep RD; opcode 0, AA/TC clear */
	buf[3] = 0x80;                              /* RA, rcode NOERROR */
	memset(buf + 6, 0, 6);                      /* AN, NS, AR counts */

	const uint8_t *rdata = qtype == TYPE_AAAA ? aaaa_rdata : qtype == TYPE_A ? a_rdata : NULL;
	size_t rdlen = qtype == TYPE_AAAA ? sizeof(aaaa_rdata) : sizeof(a_rdata);
	if (!rdata)
		return off;
	if (off + 12 + rdlen > DGRAM_MAX)
		return 0;
	uint8_t *rr = buf + off;
	put16(rr, 0xc000 | HDR_LEN); /* owner: the question's name */
	put16(rr + 2, qtype);
	put16(rr + 4, 1); /* class IN */
	put16(rr + 6, 0); /* TTL 300 */
	put16(rr + 8, 300);
	put16(rr + 10, (unsigned)rdlen);
	memcpy(rr + 12, rdata, rdlen);
	put16(buf + 6, 1);
	return off + 12 + rdlen;
}

static void arm(unsigned batch)
{
	for (unsigned i = 0; i < batch; i++) {
		slots[i].iov.iov_base = slots[i].buf;
		slots[i].iov.iov_len = sizeof(slots[i].buf);
		struct msghdr *mh = &in_msgs[i].msg_hdr;
		memset(mh, 0, sizeof(*mh));
		mh->msg_name = &slots[i].peer;
		mh->msg_namelen = sizeof(slots[i].peer);
		mh->msg_iov = &slots[i].iov;
		mh->msg_iovlen = 1;
	}
}

/* Answer what one recvmmsg returned, with one sendmmsg (more if the socket takes less). */
static void reply(int fd, int n)
{
	unsigned k = 0;
	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &in_msgs[i].msg_hdr;
		if (mh->msg_flags & MSG_TRUNC)
			continue;
		size_t len = answer(slots[i].buf, in_msgs[i].msg_len);
		if (len == 0)
			continue;
		slots[i].iov.iov_len = len;
		struct msghdr *oh = &out_msgs[k++].msg_hdr;
		memset(oh, 0, sizeof(*oh));
		oh->msg_name = &slots[i].peer;
		oh->msg_namelen = mh->msg_namelen;
		oh->msg_iov = &slots[i].iov;
		oh->msg_iovlen = 1;
	}
	unsigned done = 0;
	while (done < k) {
		int s = sendmmsg(fd, out_msgs + done, k - done, 0);
		if (s <= 0) {
			if (s < 0 && errno == EINTR)
				continue;
			break; /* a full socket buffer drops the rest, as a UDP server may */
		}
		done += (unsigned)s;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: floor [-b] [-B batch] ADDR PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int blocking = 0, opt;
	unsigned batch = 32;
	while ((opt = getopt(argc, argv, "bB:")) != -1) {
		switch (opt) {
		case 'b': blocking = 1; break;
		case 'B':
			batch = (unsigned)atoi(optarg);
			if (batch < 1 || batch > BATCH_MAX)
				usage();
			break;
		default: usage();
		}
	}
	if (argc - optind != 2)
		usage();
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[optind + 1]))};
	if (inet_pton(AF_INET, argv[optind], &sa.sin_addr) != 1)
		usage();

	int fd = socket(AF_INET, SOCK_DGRAM | (blocking ? 0 : SOCK_NONBLOCK), 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("floor: socket/bind");
		return 1;
	}
	int ep = -1;
	if (!blocking) {
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
		ep = epoll_create1(0);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			perror("floor: epoll");
			return 1;
		}
	}
	for (;;) {
		if (blocking) {
			arm(batch);
			int n = recvmmsg(fd, in_msgs, batch, MSG_WAITFORONE, NULL);
			if (n > 0)
				reply(fd, n);
			else if (n < 0 && errno != EINTR)
				perror("floor: recvmmsg");
			continue;
		}
		struct epoll_event ev;
		int e = epoll_wait(ep, &ev, 1, -1);
		if (e < 0 && errno != EINTR) {
			perror("floor: epoll_wait");
			return 1;
		}
		/* drain the socket: full batches mean more may be waiting */
		for (;;) {
			arm(batch);
			int n = recvmmsg(fd, in_msgs, batch, MSG_DONTWAIT, NULL);
			if (n <= 0)
				break;
			reply(fd, n);
			if ((unsigned)n < batch)
				break;
		}
	}
}
