/*
 * Helpers of the libwebsockets-style test programs (not a test itself). Each test is run
 * by ctest as `server.py -- TEST`, which appends ws://127.0.0.1:PORT as the last argument.
 * The programs use only libwebsockets.h, as a program written for libwebsockets would.
 */
#ifndef LWS_TEST_H
#define LWS_TEST_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int lt_failures;

#define CHECK(expr)                                                                      \
	do {                                                                             \
		if (!(expr)) {                                                           \
			lt_failures++;                                                   \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
				#expr);                                                  \
		}                                                                        \
	} while (0)

#define CHECK_INT(actual, expected)                                                       \
	do {                                                                              \
		long long lt_a_ = (long long)(actual), lt_e_ = (long long)(expected);     \
		if (lt_a_ != lt_e_) {                                                     \
			lt_failures++;                                                    \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (got %lld, expected %lld)\n", \
				__FILE__, __LINE__, #actual, #expected, lt_a_, lt_e_);    \
		}                                                                         \
	} while (0)

#define REQUIRE(expr)                                                                     \
	do {                                                                              \
		if (!(expr)) {                                                            \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__,  \
				#expr);                                                   \
			exit(1);                                                          \
		}                                                                         \
	} while (0)

/* The server's address and port, from the URL ctest appends (with lws_parse_uri). */
struct lt_server {
	char buf[256];
	const char *address;
	int port;
};

static inline void lt_server_from_args(struct lt_server *s, int argc, const char **argv) {
	const char *prot, *path;
	REQUIRE(argc >= 2);
	lws_strncpy(s->buf, argv[argc - 1], sizeof s->buf);
	REQUIRE(!lws_parse_uri(s->buf, &prot, &s->address, &s->port, &path));
	REQUIRE(!strcmp(prot, "ws"));
}

/* Exits with the verdict. */
static inline int lt_finish(const char *name) {
	if (lt_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, lt_failures);
		return 1;
	}
	printf("%s: ok\n", name);
	return 0;
}

#endif
