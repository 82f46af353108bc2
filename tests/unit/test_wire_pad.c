/* test_wire_pad.c - RFC 7830 padding of queries to a multiple of 128 bytes (RFC 8467), wire_pad_query() */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "dns64d/wire.h"

/* A name of len bytes (at least 10) under "example.": labels of 'a', none longer than 63 */
static size_t make_name(uint8_t *out, size_t len)
{
	size_t o = 0, left = len - 9;
	while (left) {
		size_t l = left - 1 > 63 ? 63 : left - 1;
		if (left - 1 - l == 1)
			l--; /* a last label needs at least one byte after its length */
		out[o] = (uint8_t)l;
		memset(out + o + 1, 'a', l);
		o += 1 + l;
		left -= 1 + l;
	}
	memcpy(out + o, "\7example\0", 9);
	return o + 9;
}

/* The OPT record's RDLEN and the options in it, checked by walking the padded message. */
static void check_padded(const uint8_t *q, size_t qlen, const uint8_t *p, size_t plen)
{
	assert_int_equal(plen % 128, 0);
	assert_true(plen >= qlen + 4);
	/* everything before the OPT RDATA's end is unchanged but RDLEN */
	size_t opt = qlen - 11; /* wire_build_query puts the 11-byte OPT record last */
	assert_memory_equal(p, q, opt + 9);
	size_t rdlen = rd16(p + opt + 9);
	assert_int_equal(rdlen, rd16(q + opt + 9) + (plen - qlen));
	assert_int_equal(opt + 11 + rdlen, plen);
	assert_int_equal(rd16(p + opt + 11), EDNS_OPT_PAD);
	assert_int_equal(rd16(p + opt + 13), plen - qlen - 4);
	for (size_t i = opt + 15; i < plen; i++)
		assert_int_equal(p[i], 0);
}

static void test_every_length(void **state)
{
	for (size_t n = 11; n <= DNS_MAX_NAME; n++) {
		uint8_t name[DNS_MAX_NAME], q[DNS_MAX_NAME + 32], p[512];
		size_t nl = make_name(name, n);
		assert_int_equal(nl, n);
		size_t qlen = wire_build_query(0x1234, name, nl, DNS_T_AAAA, DNS_C_IN, true, false, true, q);
		size_t plen = wire_pad_query(q, qlen, 128, p, sizeof(p));
		check_padded(q, qlen, p, plen);
	}
}

/* An exact fit still needs the 4-byte option header: the next block. */
static void test_block_boundary(void **state)
{
	uint8_t name[DNS_MAX_NAME], q[DNS_MAX_NAME + 32], p[512];
	/* 12 header + name + 4 question + 11 OPT = 124: with the option header 128, no padding bytes */
	size_t nl = make_name(name, 124 - 12 - 4 - 11);
	size_t qlen = wire_build_query(1, name, nl, DNS_T_A, DNS_C_IN, true, false, false, q);
	assert_int_equal(qlen, 124);
	size_t plen = wire_pad_query(q, qlen, 128, p, sizeof(p));
	assert_int_equal(plen, 128);
	check_padded(q, qlen, p, plen);
	/* one byte more and the next block */
	nl = make_name(name, 124 - 12 - 4 - 11 + 1);
	qlen = wire_build_query(1, name, nl, DNS_T_A, DNS_C_IN, true, false, false, q);
	assert_int_equal(wire_pad_query(q, qlen, 128, p, sizeof(p)), 256);
}

static void test_left_alone(void **state)
{
	uint8_t name[DNS_MAX_NAME], q[DNS_MAX_NAME + 32], p[512];
	size_t nl = make_name(name, 15);
	size_t qlen = wire_build_query(1, name, nl, DNS_T_A, DNS_C_IN, true, false, false, q);
	/* no room */
	assert_int_equal(wire_pad_query(q, qlen, 128, p, 100), 0);
	/* no OPT record: ARCOUNT 0 and the OPT cut off */
	uint8_t plain[DNS_MAX_NAME + 32];
	memcpy(plain, q, qlen - 11);
	wr16(plain + 10, 0);
	assert_int_equal(wire_pad_query(plain, qlen - 11, 128, p, sizeof(p)), 0);
	/* already padded: not padded twice */
	size_t plen = wire_pad_query(q, qlen, 128, p, sizeof(p));
	uint8_t again[512];
	assert_int_equal(wire_pad_query(p, plen, 128, again, sizeof(again)), 0);
	/* malformed: ARCOUNT says 2, one record there; trailing garbage */
	memcpy(plain, q, qlen);
	wr16(plain + 10, 2);
	assert_int_equal(wire_pad_query(plain, qlen, 128, p, sizeof(p)), 0);
	memcpy(plain, q, qlen);
	plain[qlen] = 0;
	assert_int_equal(wire_pad_query(plain, qlen + 1, 128, p, sizeof(p)), 0);
	/* an OPT RDLEN past the end */
	memcpy(plain, q, qlen);
	wr16(plain + qlen - 2, 40);
	assert_int_equal(wire_pad_query(plain, qlen, 128, p, sizeof(p)), 0);
	assert_int_equal(wire_pad_query(q, 5, 128, p, sizeof(p)), 0);
}

/* An OPT record that is not the last one: the option goes at the end of its RDATA. */
static void test_opt_not_last(void **state)
{
	uint8_t name[DNS_MAX_NAME], q[DNS_MAX_NAME + 64], p[512];
	size_t nl = make_name(name, 13);
	size_t qlen = wire_build_query(1, name, nl, DNS_T_A, DNS_C_IN, true, false, false, q);
	/* a TXT record after the OPT: root owner, type 16, class IN, TTL 0, RDLEN 2, "\1x" */
	static const uint8_t txt[] = {0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 2, 1, 'x'};
	memcpy(q + qlen, txt, sizeof(txt));
	size_t total = qlen + sizeof(txt);
	wr16(q + 10, 2);
	size_t plen = wire_pad_query(q, total, 128, p, sizeof(p));
	assert_int_equal(plen, 128);
	size_t opt = qlen - 11;
	assert_int_equal(rd16(p + opt + 9), plen - total);
	assert_memory_equal(p + plen - sizeof(txt), txt, sizeof(txt));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_length),
	        cmocka_unit_test(test_block_boundary),
	        cmocka_unit_test(test_left_alone),
	        cmocka_unit_test(test_opt_not_last),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
