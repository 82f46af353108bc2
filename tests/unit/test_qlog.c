/* test_qlog.c - unit tests for the query log formats of src/qlog.c */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dns64d/qlog.h"

static const struct qlog_field F[] = {
        {"client", "127.0.0.1:4000", false},
        {"name", "a b.example.", false},
        {"type", "AAAA", false},
        {"reason", "", false},
        {"odd", "q\"u\\o=te\x01", false},
        {"latency_ms", "12", true},
};
#define NF (sizeof(F) / sizeof(F[0]))

static void text_is_key_quoted_value(void **state)
{
	char out[512];
	size_t n = qlog_format(QLOG_TEXT, F, NF, out, sizeof(out));
	assert_string_equal(out, "query client '127.0.0.1:4000' name 'a b.example.' type 'AAAA' reason '' odd "
	                         "'q\"u\\o=te\x01' latency_ms 12");
	assert_int_equal(n, strlen(out));
}

static void logfmt_quotes_only_what_needs_it(void **state)
{
	char out[512];
	qlog_format(QLOG_LOGFMT, F, NF, out, sizeof(out));
	assert_string_equal(out, "msg=query client=127.0.0.1:4000 name=\"a b.example.\" type=AAAA reason=\"\" "
	                         "odd=\"q\\\"u\\\\o=te\\u0001\" latency_ms=12");
}

static void json_escapes_and_numbers(void **state)
{
	char out[512];
	qlog_format(QLOG_JSON, F, NF, out, sizeof(out));
	assert_string_equal(out, "{\"msg\":\"query\",\"client\":\"127.0.0.1:4000\",\"name\":\"a b.example.\","
	                         "\"type\":\"AAAA\",\"reason\":\"\",\"odd\":\"q\\\"u\\\\o=te\\u0001\","
	                         "\"latency_ms\":12}");
}

static void short_buffer_is_cut_and_terminated(void **state)
{
	char out[10];
	memset(out, 'x', sizeof(out));
	size_t n = qlog_format(QLOG_JSON, F, NF, out, sizeof(out));
	assert_int_equal(n, 9);
	assert_int_equal(out[9], '\0');
	assert_memory_equal(out, "{\"msg\":\"q", 9);
	assert_int_equal(qlog_format(QLOG_TEXT, F, NF, out, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(text_is_key_quoted_value),
	        cmocka_unit_test(logfmt_quotes_only_what_needs_it),
	        cmocka_unit_test(json_escapes_and_numbers),
	        cmocka_unit_test(short_buffer_is_cut_and_terminated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
