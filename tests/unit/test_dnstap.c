/* test_dnstap.c - unit tests for dnstap messages (src/dnstap_msg.c) and the dnstap directives */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns64d/config.h"
#include "dns64d/dnstap.h"
#include "dnstap.pb-c.h"

static struct sockaddr_storage v4(const char *a, uint16_t port)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, a, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *a, uint16_t port)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, a, &sin6->sin6_addr), 1);
	return ss;
}

/* Pack ev and unpack it again with protobuf-c. */
static Dnstap__Dnstap *round_trip(const struct dnstap_event *ev)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(dnstap_pack(ev, &buf, &len), 0);
	assert_true(len > 0);
	Dnstap__Dnstap *d = dnstap__dnstap__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(d);
	assert_int_equal(d->type, DNSTAP__DNSTAP__TYPE__MESSAGE);
	assert_non_null(d->message);
	return d;
}

static void assert_bytes(const ProtobufCBinaryData *b, protobuf_c_boolean has, const void *want, size_t n)
{
	assert_true(has);
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, want, n);
}

static const uint8_t QUERY[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 0, 0, 28, 0, 1};

static void client_query_v4(void **state)
{
	struct sockaddr_storage peer = v4("192.0.2.10", 40000), local = v4("127.0.0.1", 53);
	struct dnstap_event ev = {
	        .kind = DNSTAP_CLIENT_QUERY,
	        .proto = DNSTAP_UDP,
	        .query_addr = (struct sockaddr *)&peer,
	        .response_addr = (struct sockaddr *)&local,
	        .query_time = {.tv_sec = 1700000000, .tv_nsec = 123456789},
	        .query = QUERY,
	        .query_len = sizeof(QUERY),
	        .identity = "resolver1",
	        .version = "dns64d 0.1.0",
	};
	Dnstap__Dnstap *d = round_trip(&ev);
	const Dnstap__Message *m = d->message;
	assert_bytes(&d->identity, d->has_identity, "resolver1", 9);
	assert_bytes(&d->version, d->has_version, "dns64d 0.1.0", 12);
	assert_false(d->has_extra);
	assert_int_equal(m->type, DNSTAP__MESSAGE__TYPE__CLIENT_QUERY);
	assert_true(m->has_socket_family && m->socket_family == DNSTAP__SOCKET_FAMILY__INET);
	assert_true(m->has_socket_protocol && m->socket_protocol == DNSTAP__SOCKET_PROTOCOL__UDP);
	assert_bytes(&m->query_address, m->has_query_address, "\xc0\x00\x02\x0a", 4);
	assert_bytes(&m->response_address, m->has_response_address, "\x7f\x00\x00\x01", 4);
	assert_true(m->has_query_port && m->query_port == 40000);
	assert_true(m->has_response_port && m->response_port == 53);
	assert_true(m->has_query_time_sec && m->query_time_sec == 1700000000);
	assert_true(m->has_query_time_nsec && m->query_time_nsec == 123456789);
	assert_false(m->has_response_time_sec || m->has_response_message);
	assert_bytes(&m->query_message, m->has_query_message, QUERY, sizeof(QUERY));
	dnstap__dnstap__free_unpacked(d, NULL);
}

static void client_response_v6_extra(void **state)
{
	struct sockaddr_storage peer = v6("2001:db8::10", 5353), local = v6("::1", 53);
	static const uint8_t RESP[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
	char extra[128];
	const uint8_t wkp[16] = {0, 0x64, 0xff, 0x9b};
	struct dnstap_event ev = {
	        .kind = DNSTAP_CLIENT_RESPONSE,
	        .proto = DNSTAP_TCP,
	        .query_addr = (struct sockaddr *)&peer,
	        .response_addr = (struct sockaddr *)&local,
	        .query_time = {.tv_sec = 1700000000, .tv_nsec = 5},
	        .response_time = {.tv_sec = 1700000001, .tv_nsec = 999999999},
	        .response = RESP,
	        .response_len = sizeof(RESP),
	        .extra = dnstap_extra(extra, sizeof(extra), "dns64", true, wkp, 96, "synthesized"),
	};
	assert_string_equal(extra, "action=dns64 synthesized=yes prefix=64:ff9b::/96 reason=synthesized");
	Dnstap__Dnstap *d = round_trip(&ev);
	const Dnstap__Message *m = d->message;
	assert_false(d->has_identity || d->has_version);
	assert_bytes(&d->extra, d->has_extra, extra, strlen(extra));
	assert_int_equal(m->type, DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE);
	assert_int_equal(m->socket_family, DNSTAP__SOCKET_FAMILY__INET6);
	assert_int_equal(m->socket_protocol, DNSTAP__SOCKET_PROTOCOL__TCP);
	assert_int_equal(m->query_address.len, 16);
	assert_memory_equal(m->query_address.data, ((struct sockaddr_in6 *)&peer)->sin6_addr.s6_addr, 16);
	assert_int_equal(m->query_port, 5353);
	assert_int_equal(m->response_address.len, 16);
	assert_int_equal(m->response_address.data[15], 1);
	assert_true(m->has_response_time_sec && m->response_time_sec == 1700000001);
	assert_int_equal(m->response_time_nsec, 999999999);
	assert_int_equal(m->query_time_nsec, 5);
	assert_bytes(&m->response_message, m->has_response_message, RESP, sizeof(RESP));
	assert_false(m->has_query_message);
	dnstap__dnstap__free_unpacked(d, NULL);
}

/* An upstream exchange: only the responder's address is known (the source is the kernel's);
 * a mapped client counts as IPv4, and an address of the other family is left out. */
static void forwarder_and_families(void **state)
{
	struct sockaddr_storage up = v6("2001:db8::53", 5300), mapped = v6("::ffff:192.0.2.7", 1000),
	                        other = v4("192.0.2.1", 53);
	struct dnstap_event ev = {
	        .kind = DNSTAP_FORWARDER_QUERY,
	        .proto = DNSTAP_DOT,
	        .response_addr = (struct sockaddr *)&up,
	        .query = QUERY,
	        .query_len = sizeof(QUERY),
	};
	Dnstap__Dnstap *d = round_trip(&ev);
	assert_int_equal(d->message->type, DNSTAP__MESSAGE__TYPE__FORWARDER_QUERY);
	assert_int_equal(d->message->socket_protocol, DNSTAP__SOCKET_PROTOCOL__DOT);
	assert_int_equal(d->message->socket_family, DNSTAP__SOCKET_FAMILY__INET6);
	assert_false(d->message->has_query_address || d->message->has_query_port);
	assert_true(d->message->has_response_port && d->message->response_port == 5300);
	dnstap__dnstap__free_unpacked(d, NULL);

	ev.kind = DNSTAP_FORWARDER_RESPONSE;
	ev.query_addr = (struct sockaddr *)&mapped;
	ev.response_addr = (struct sockaddr *)&up;
	d = round_trip(&ev);
	assert_int_equal(d->message->type, DNSTAP__MESSAGE__TYPE__FORWARDER_RESPONSE);
	assert_int_equal(d->message->socket_family, DNSTAP__SOCKET_FAMILY__INET);
	assert_bytes(&d->message->query_address, d->message->has_query_address, "\xc0\x00\x02\x07", 4);
	assert_false(d->message->has_response_address); /* IPv6: not of the message's family */
	dnstap__dnstap__free_unpacked(d, NULL);

	ev.query_addr = NULL;
	ev.response_addr = (struct sockaddr *)&other;
	d = round_trip(&ev);
	assert_int_equal(d->message->socket_family, DNSTAP__SOCKET_FAMILY__INET);
	assert_bytes(&d->message->response_address, d->message->has_response_address, "\xc0\x00\x02\x01", 4);
	dnstap__dnstap__free_unpacked(d, NULL);
}

static void extra_text(void **state)
{
	char buf[128];
	assert_string_equal(dnstap_extra(buf, sizeof(buf), "forward", false, NULL, 0, "forward_only"),
	                    "action=forward synthesized=no prefix=- reason=forward_only");
	const uint8_t nsp[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x64};
	assert_string_equal(dnstap_extra(buf, sizeof(buf), "dns64", false, nsp, 48, "real_aaaa"),
	                    "action=dns64 synthesized=no prefix=2001:db8:64::/48 reason=real_aaaa");
	assert_string_equal(dnstap_extra(buf, sizeof(buf), "refuse", false, NULL, 0, NULL),
	                    "action=refuse synthesized=no prefix=- reason=-");
	assert_string_equal(dnstap_extra(buf, 12, "dns64", true, NULL, 0, "x"), "action=dns6");
}

/* ---- directives ------------------------------------------------------------------------------ */

static unsigned messages_of(const char *text)
{
	struct config *cfg = NULL;
	struct errbuf err = {.len = 0};
	if (config_parse("t.conf", text, &cfg, &err) != 0)
		fail_msg("'%s': %s", text, err.text);
	unsigned v = cfg->dnstap_messages;
	config_unref(cfg);
	return v;
}

static void expect_error(const char *text, const char *want)
{
	struct config *cfg = NULL;
	struct errbuf err = {.len = 0};
	assert_int_equal(config_parse("t.conf", text, &cfg, &err), -EINVAL);
	assert_null(cfg);
	if (!strstr(err.text, want))
		fail_msg("'%s': got '%s', want '%s'", text, err.text, want);
}

static void messages_directive(void **state)
{
	assert_int_equal(messages_of("upstream 192.0.2.1\n"), DNSTAP_ALL);
	assert_int_equal(messages_of("dnstap-messages client-query\n"), DNSTAP_CLIENT_QUERY);
	assert_int_equal(messages_of("dnstap-messages client-query,forwarder-response\n"),
	                 DNSTAP_CLIENT_QUERY | DNSTAP_FORWARDER_RESPONSE);
	assert_int_equal(messages_of("dnstap-messages client-response forwarder-query\n"),
	                 DNSTAP_CLIENT_RESPONSE | DNSTAP_FORWARDER_QUERY);
	/* repeated lines add up; the first one replaces the default */
	assert_int_equal(messages_of("dnstap-messages forwarder-query\ndnstap-messages client-response\n"),
	                 DNSTAP_CLIENT_RESPONSE | DNSTAP_FORWARDER_QUERY);
	assert_int_equal(messages_of("dnstap-messages \"client-query, client-response\"\n"),
	                 DNSTAP_CLIENT_QUERY | DNSTAP_CLIENT_RESPONSE);
	expect_error("dnstap-messages client-query,resolver-query\n",
	             "t.conf:1: bad value 'resolver-query' for dnstap-messages (expected client-query, "
	             "client-response, forwarder-query or forwarder-response)");
	expect_error("\ndnstap-messages client-query\ndnstap-messages client-query\n",
	             "t.conf:3: 'client-query' given twice for dnstap-messages");
	expect_error("dnstap-messages client-query,,client-response\n", "t.conf:1: empty value");
	expect_error("dnstap-messages client-query,\n", "t.conf:1: empty value");
	expect_error("dnstap-messages\n", "t.conf:1: missing argument for 'dnstap-messages'");
	expect_error("dnstap-socket run/dnstap.sock\n", "t.conf:1: dnstap-socket 'run/dnstap.sock' is not an absolute");
	expect_error("dnstap-identity a b\n", "t.conf:1: extra argument 'b' for 'dnstap-identity'");
}

/* -t -v prints every dnstap directive so that it parses back to the same values. */
static void print_round_trip(void **state)
{
	static const char *const texts[] = {
	        "upstream 192.0.2.1\n",
	        "dnstap-socket /run/dnstap.sock\ndnstap-messages forwarder-response,client-query\n"
	        "dnstap-identity resolver-7\ndnstap-version \"test build #3\"\n",
	};
	for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
		struct config *cfg = NULL, *back = NULL;
		struct errbuf err = {.len = 0};
		char *text = NULL;
		size_t n;
		const struct config_directive *t = config_directives(&n);
		assert_int_equal(config_parse("a.conf", texts[k], &cfg, &err), 0);
		assert_int_equal(config_print(cfg, &text), 0);
		assert_non_null(strstr(text, "\ndnstap-messages "));
		if (config_parse("printed.conf", text, &back, &err) != 0)
			fail_msg("printed:\n%s\nerrors:\n%s", text, err.text);
		for (size_t i = 0; i < n; i++)
			if (config_value_changed(&t[i], cfg, back))
				fail_msg("'%s' differs after printing:\n%s", t[i].name, text);
		if (k == 1) {
			assert_non_null(strstr(text, "\ndnstap-messages client-query,forwarder-response\n"));
			assert_string_equal(back->dnstap_version, "test build #3");
		} else
			assert_non_null(strstr(text, "\n# dnstap-socket (not set: no dnstap)\n"));
		free(text);
		config_unref(cfg);
		config_unref(back);
	}
}

/* -t: the socket's directory must exist (inside the chroot with one); a change of the socket
 * needs a restart, the rest a reload. */
static void check_and_reload(void **state)
{
	struct config *cfg = NULL, *b = NULL;
	struct errbuf err = {.len = 0};
	assert_int_equal(config_parse("x.conf", "upstream 192.0.2.1\ndnstap-socket /tmp/dnstap.sock\n", &cfg, &err), 0);
	assert_int_equal(config_check_system(cfg, &err), 0);
	config_unref(cfg);
	assert_int_equal(config_parse("x.conf", "\ndnstap-socket /nonexistent-dns64d/dnstap.sock\n", &cfg, &err), 0);
	assert_int_equal(config_check_system(cfg, &err), -EINVAL);
	assert_string_equal(err.text, "x.conf:2: dnstap-socket '/nonexistent-dns64d/dnstap.sock': directory "
	                              "'/nonexistent-dns64d': No such file or directory\n");
	config_unref(cfg);
	err = (struct errbuf){.len = 0};
	/* with a chroot the path is inside it: /tmp/tmp does not exist */
	assert_int_equal(config_parse("x.conf", "chroot /tmp\ndnstap-socket /tmp/dnstap.sock\n", &cfg, &err), 0);
	assert_int_equal(config_check_system(cfg, &err), -EINVAL);
	assert_non_null(strstr(err.text, "x.conf:2: dnstap-socket '/tmp/dnstap.sock': directory '/tmp/tmp'"));
	config_unref(cfg);
	err = (struct errbuf){.len = 0};
	assert_int_equal(config_parse("x.conf", "dnstap-socket /dnstap.sock\n", &cfg, &err), 0);
	assert_int_equal(config_check_system(cfg, &err), 0);
	assert_int_equal(config_parse("y.conf", "dnstap-socket /other.sock\ndnstap-messages client-query\n", &b, &err),
	                 0);
	assert_int_equal(config_reload_changes(cfg, b, NULL, NULL), 1); /* dnstap-socket only */
	config_unref(cfg);
	config_unref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(client_query_v4),        cmocka_unit_test(client_response_v6_extra),
	        cmocka_unit_test(forwarder_and_families), cmocka_unit_test(extra_text),
	        cmocka_unit_test(messages_directive),     cmocka_unit_test(print_round_trip),
	        cmocka_unit_test(check_and_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
