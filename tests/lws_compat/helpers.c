/*
 * The helpers that need no connection: strings, URIs, JSON, the command line, the ring
 * buffer, the log (levels, a custom emit function, hexdump), random bytes and the macros.
 * (server.py's URL argument is not used.)
 */
#include "lws_test.h"

static char logged[4096];
static int logged_levels;

static void capture(int level, const char *line) {
	logged_levels |= level;
	strncat(logged, line, sizeof logged - strlen(logged) - 1);
}

struct outer {
	int a;
	lws_sorted_usec_list_t sul;
};

static int destroyed_elements;
static void destroy_element(void *e) {
	(void)e;
	destroyed_elements++;
}

static void strings(void) {
	char buf[8];
	CHECK_INT(lws_snprintf(buf, sizeof buf, "%s", "0123456789"), 7); /* what fits */
	CHECK(!strcmp(buf, "0123456"));
	CHECK_INT(lws_snprintf(buf, sizeof buf, "%d", 42), 2);
	CHECK(!strcmp(lws_strncpy(buf, "abcdefghij", sizeof buf), "abcdefg"));
	lws_strnncpy(buf, "abcdef", 3, sizeof buf);
	CHECK(!strcmp(buf, "abc"));
	CHECK_INT(LWS_ARRAY_SIZE(buf), 8);
	CHECK_INT(lws_ptr_diff(buf + 5, buf), 5);
	struct outer o;
	CHECK(lws_container_of(&o.sul, struct outer, sul) == &o);
	CHECK_INT(LWS_US_PER_SEC, 1000000);
	CHECK_INT(LWS_PRE % 8, 0);
	CHECK(LWS_PRE >= 14);
	CHECK_INT(LWS_LIBRARY_VERSION_MAJOR, 4);
	CHECK_INT(LWS_LIBRARY_VERSION_MINOR, 3);
	CHECK_INT(LWS_WITH_WSC, 1);
	CHECK(!strncmp(lws_get_library_version(), "4.3.0-wsc (wsc ", 15));
	CHECK_INT(lws_write_ws_flags(LWS_WRITE_TEXT, 1, 0), LWS_WRITE_TEXT | LWS_WRITE_NO_FIN);
	CHECK_INT(lws_write_ws_flags(LWS_WRITE_TEXT, 0, 1), LWS_WRITE_CONTINUATION);
	CHECK_INT(LWS_CALLBACK_CLIENT_RECEIVE, 8);
	CHECK_INT(LWS_CALLBACK_CLIENT_CLOSED, 75);
	CHECK_INT(LCCSCF_ALLOW_INSECURE, 16);
}

static void uris(void) {
	char u1[] = "wss://example.com:8443/a/b?c=d";
	char u2[] = "http://[::1]/x";
	char u3[] = "ws://host";
	const char *prot, *ads, *path;
	int port;
	CHECK(!lws_parse_uri(u1, &prot, &ads, &port, &path));
	CHECK(!strcmp(prot, "wss") && !strcmp(ads, "example.com") && port == 8443 &&
	      !strcmp(path, "a/b?c=d"));
	CHECK(!lws_parse_uri(u2, &prot, &ads, &port, &path));
	CHECK(!strcmp(prot, "http") && !strcmp(ads, "::1") && port == 80 && !strcmp(path, "x"));
	CHECK(!lws_parse_uri(u3, &prot, &ads, &port, &path));
	CHECK(!strcmp(ads, "host") && port == 80 && !strcmp(path, "/"));
}

static void json(void) {
	const char *j = "{\"name\": \"value\", \"n\":12,\"ok\":true}";
	size_t alen;
	const char *v = lws_json_simple_find(j, strlen(j), "\"name\":", &alen);
	CHECK(v && alen == 5 && !strncmp(v, "value", 5));
	v = lws_json_simple_find(j, strlen(j), "\"n\":", &alen);
	CHECK(v && alen == 2 && !strncmp(v, "12", 2));
	v = lws_json_simple_find(j, strlen(j), "\"ok\":", &alen);
	CHECK(v && alen == 4 && !strncmp(v, "true", 4));
	CHECK(!lws_json_simple_find(j, strlen(j), "\"missing\":", &alen));
}

static void cmdline(void) {
	const char *argv[] = { "prog", "-d15", "--port", "9001", "-v" };
	int argc = (int)LWS_ARRAY_SIZE(argv);
	const char *p = lws_cmdline_option(argc, argv, "-d");
	CHECK(p && !strcmp(p, "15"));
	p = lws_cmdline_option(argc, argv, "--port");
	CHECK(p && !strcmp(p, "9001"));
	p = lws_cmdline_option(argc, argv, "-v");
	CHECK(p && !*p);
	CHECK(!lws_cmdline_option(argc, argv, "-x"));
	struct lws_context_creation_info info;
	lws_context_info_defaults(&info, NULL);
	CHECK_INT(info.port, CONTEXT_PORT_NO_LISTEN);
	lws_cmdline_option_handle_builtin(argc, argv, &info); /* -d15: err|warn|notice|info */
	CHECK(lwsl_visible(LLL_INFO) && !lwsl_visible(LLL_DEBUG) && !lwsl_visible(LLL_USER));
}

static void ring(void) {
	struct lws_ring *r = lws_ring_create(sizeof(int), 4, destroy_element);
	int in[5] = { 1, 2, 3, 4, 5 }, out[5] = { 0 };
	uint32_t tail = 0;
	REQUIRE(r);
	CHECK_INT(lws_ring_get_count_free_elements(r), 3);
	CHECK_INT(lws_ring_insert(r, in, 5), 3); /* only what fits */
	CHECK_INT(lws_ring_get_count_free_elements(r), 0);
	CHECK_INT(lws_ring_get_count_waiting_elements(r, &tail), 3);
	CHECK_INT(*(const int *)lws_ring_get_element(r, &tail), 1);
	CHECK_INT(lws_ring_consume(r, &tail, out, 2), 2);
	CHECK(out[0] == 1 && out[1] == 2);
	lws_ring_update_oldest_tail(r, tail);
	CHECK_INT(destroyed_elements, 2);
	CHECK_INT(lws_ring_get_count_free_elements(r), 2);
	CHECK_INT(lws_ring_insert(r, in + 3, 2), 2); /* wraps around */
	CHECK_INT(lws_ring_consume(r, &tail, out, 5), 3);
	CHECK(out[0] == 3 && out[1] == 4 && out[2] == 5);
	lws_ring_consume_single_tail(r, &tail, 0);
	CHECK(!lws_ring_get_element(r, &tail));
	lws_ring_destroy(r);
	CHECK_INT(destroyed_elements, 5);
}

static void logs(void) {
	lws_set_log_level(LLL_ERR | LLL_USER, capture);
	lwsl_err("error %d\n", 1);
	lwsl_warn("hidden\n");
	lwsl_user("user\n");
	lwsl_hexdump_level(LLL_ERR, "AB", 2);
	lwsl_hexdump_debug("hidden", 6);
	CHECK_INT(logged_levels, LLL_ERR | LLL_USER);
	CHECK(strstr(logged, "error 1\n") != NULL);
	CHECK(strstr(logged, "user\n") != NULL);
	CHECK(strstr(logged, "0000: 41 42 ") != NULL);
	CHECK(strstr(logged, "hidden") == NULL);
	lws_set_log_level(LLL_ERR, lwsl_emit_stderr);
}

int main(void) {
	unsigned char r1[16] = { 0 }, r2[16] = { 0 };
	strings();
	uris();
	json();
	cmdline();
	ring();
	logs();
	CHECK_INT(lws_get_random(NULL, r1, sizeof r1), 16);
	CHECK_INT(lws_get_random(NULL, r2, sizeof r2), 16);
	CHECK(memcmp(r1, r2, sizeof r1) != 0);
	const struct lws_switches sw[] = { { "-p <port>", "server port" } };
	lws_switches_print_help("helpers", sw, LWS_ARRAY_SIZE(sw));
	return lt_finish("helpers");
}
