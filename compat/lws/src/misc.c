/* libwebsockets' small helpers: strings, random bytes, JSON and URI picking, the command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "private.h"

int lws_snprintf(char *str, size_t size, const char *format, ...) {
	if (!size)
		return 0;
	va_list ap;
	va_start(ap, format);
	int n = vsnprintf(str, size, format, ap);
	va_end(ap);
	/* Unlike snprintf: the length actually written, so `p += lws_snprintf(...)` stays
	 * inside the buffer. */
	if (n < 0)
		return 0;
	return (size_t)n >= size ? (int)size - 1 : n;
}

char *lws_strncpy(char *dest, const char *src, size_t size) {
	if (!size)
		return dest;
	size_t n = strnlen(src, size - 1);
	memcpy(dest, src, n);
	dest[n] = '\0';
	return dest;
}

size_t lws_get_random(struct lws_context *context, void *buf, size_t len) {
	(void)context;
	size_t done = 0;
	while (done < len) {
		ssize_t n = getrandom((char *)buf + done, len - done, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		done += (size_t)n;
	}
	return done;
}

const char *lws_json_simple_find(const char *buf, size_t len, const char *name, size_t *alen) {
	size_t nl = strlen(name);
	if (!nl || len < nl)
		return NULL;
	for (size_t i = 0; i + nl <= len; i++) {
		if (memcmp(buf + i, name, nl))
			continue;
		const char *p = buf + i + nl, *end = buf + len;
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		if (p >= end)
			return NULL;
		const char *start = p;
		if (*p == '"') {
			/* A string: its body, without the quotes. */
			start = ++p;
			while (p < end && *p != '"') {
				if (*p == '\\' && p + 1 < end)
					p++;
				p++;
			}
		} else {
			/* A number, true, false or null: up to the next delimiter. */
			while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
			       *p != '\n' && *p != '\r' && *p != '\t')
				p++;
		}
		*alen = (size_t)(p - start);
		return start;
	}
	return NULL;
}

int lws_parse_uri(char *p, const char **prot, const char **ads, int *port, const char **path) {
	static const char *const schemes[] = { "http", "https", "ws", "wss", "mqtt", "mqtts" };
	static const int ports[] = { 80, 443, 80, 443, 1883, 8883 };
	char *sep = strstr(p, "://");
	*prot = "";
	if (sep) {
		*sep = '\0';
		*prot = p;
		p = sep + 3;
	}
	*port = 80;
	for (size_t i = 0; i < LWS_ARRAY_SIZE(schemes); i++)
		if (!strcmp(*prot, schemes[i]))
			*port = ports[i];
	*ads = p;
	if (*p == '[') {
		/* An IPv6 literal: the address is what is inside the brackets. */
		*ads = ++p;
		while (*p && *p != ']')
			p++;
		if (*p)
			*p++ = '\0';
	} else if (*p == '+') {
		/* A unix socket path, ended by ':'. */
		while (*p && *p != ':')
			p++;
	} else {
		while (*p && *p != ':' && *p != '/')
			p++;
	}
	if (*p == ':') {
		*p++ = '\0';
		if (**ads != '+') {
			*port = atoi(p);
			while (*p && *p != '/')
				p++;
		}
	}
	*path = "/";
	if (*p) {
		*p++ = '\0';
		*path = p; /* without its leading '/', as libwebsockets gives it */
	}
	return 0;
}

const char *lws_cmdline_option(int argc, const char **argv, const char *val) {
	size_t n = strlen(val);
	for (int c = 1; c < argc; c++) {
		if (!argv[c] || strncmp(argv[c], val, n))
			continue;
		/* "-d15" gives "15", "-d 15" gives "15", a lone "-d" at the end gives "". */
		if (argv[c][n])
			return argv[c] + n;
		if (c + 1 < argc && argv[c + 1][0] != '-')
			return argv[c + 1];
		return argv[c] + n;
	}
	return NULL;
}

void lws_cmdline_option_handle_builtin(int argc, const char **argv,
				       struct lws_context_creation_info *info) {
	(void)info;
	int logs = LLL_USER | LLL_ERR | LLL_WARN | LLL_NOTICE;
	const char *p = lws_cmdline_option(argc, argv, "-d");
	if (p)
		logs = atoi(p);
	lws_set_log_level(logs, NULL);
}

void lws_switches_print_help(const char *prog, const struct lws_switches *switches,
			     size_t count) {
	printf("Usage: %s [switches]\n", prog);
	for (size_t i = 0; i < count; i++)
		printf("  %-24s %s\n", switches[i].sw ? switches[i].sw : "",
		       switches[i].doc ? switches[i].doc : "");
}
