/* addr.h - parsing and formatting of socket addresses and IP networks; pure, no I/O */
#ifndef DNS64D_ADDR_H
#define DNS64D_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IP network: family is AF_INET (addr[0..3] used) or AF_INET6 (addr[0..15]).
 * Bits of addr beyond plen are always zero. */
struct network {
	int family;
	uint8_t addr[16];
	unsigned plen;
};

/* Parse "ADDR", "ADDR:PORT" (IPv4 only), "[V6ADDR]:PORT" or a bare IPv6 address.
 * A missing port becomes default_port. Returns 0, or -EINVAL with a short reason in *why. */
int addr_parse_endpoint(const char *s, uint16_t default_port, struct sockaddr_storage *out, const char **why);

/* Parse "ADDR/LEN" or a bare "ADDR" (host network, /32 or /128). Host bits set below the
 * prefix length are an error ("host bits set"). Returns 0 or -EINVAL with *why set. */
int addr_parse_network(const char *s, struct network *out, const char **why);

/* Extract family and raw address bytes from a sockaddr. An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) is returned as AF_INET with 4 bytes. Returns the family or -EAFNOSUPPORT. */
int addr_raw(const struct sockaddr *sa, uint8_t out[16]);

/* True if the address (family, bytes as from addr_raw) lies inside the network. */
bool network_contains(const struct network *n, int family, const uint8_t *addr);

/* Format "1.2.3.4:53" or "[::1]:53" into buf (at least 64 bytes). Returns buf. */
char *addr_format(const struct sockaddr *sa, char *buf, size_t len);

/* Format "10.0.0.0/8" or "2001:db8::/32" into buf (at least 64 bytes). Returns buf. */
char *network_format(const struct network *n, char *buf, size_t len);

/* Length of a sockaddr of this family. */
unsigned addr_len(const struct sockaddr *sa);

/* Same family, address, port (and IPv6 scope id). */
bool addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

#endif
