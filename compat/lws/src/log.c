/*
 * libwebsockets' logging: a process-wide mask of LLL_* levels and one emit function
 * (lwsl_emit_stderr unless lws_set_log_level names another). wsc's own log lines (connecting,
 * TLS, headers, frames, closes) go to the same emit function, under the matching LLL_* level.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "private.h"

/* libwebsockets' default: errors, warnings and notices. */
static int log_level = LLL_ERR | LLL_WARN | LLL_NOTICE;
static lws_log_emit_t log_emit = lwsl_emit_stderr;

/* The LLL_* level of each wsc level: the frames of WSC_LOG_TRACE are libwebsockets' parser
 * lines. */
static int lll_of(wsc_log_level level) {
	switch (level) {
	case WSC_LOG_ERROR:
		return LLL_ERR;
	case WSC_LOG_WARN:
		return LLL_WARN;
	case WSC_LOG_INFO:
		return LLL_INFO;
	case WSC_LOG_DEBUG:
		return LLL_DEBUG;
	default:
		return LLL_PARSER;
	}
}

/* wsc's lines, ended with a newline as libwebsockets' are. */
static void forward_wsc_line(wsc_log_level level, const char *line, void *user) {
	(void)user;
	size_t len = strlen(line);
	char stack[1024];
	char *buf = len + 2 <= sizeof stack ? stack : malloc(len + 2);
	if (!buf)
		return;
	memcpy(buf, line, len);
	memcpy(buf + len, "\n", 2);
	lws_compat_log_line(lll_of(level), buf);
	if (buf != stack)
		free(buf);
}

void lws_compat_route_wsc_log(void) {
	int most = WSC_LOG_OFF;
	for (int level = WSC_LOG_ERROR; level <= WSC_LOG_TRACE; level++)
		if (log_level & lll_of((wsc_log_level)level))
			most = level;
	wsc_log_set_handler(forward_wsc_line, NULL, most);
}

void lws_set_log_level(int level, lws_log_emit_t emit) {
	log_level = level;
	if (emit)
		log_emit = emit;
	lws_compat_route_wsc_log();
}

int lwsl_visible(int level) {
	return (log_level & level) != 0;
}

/* The letter libwebsockets prints for each level, in LLL_* bit order. */
static char level_letter(int level) {
	static const char letters[] = "EWNIDPHXCLUT";
	for (int i = 0; i < LLL_COUNT; i++)
		if (level & (1 << i))
			return letters[i];
	return '?';
}

static void emit_stderr(int level, const char *line, bool timestamp) {
	if (timestamp) {
		struct timeval tv;
		struct tm tm;
		gettimeofday(&tv, NULL);
		localtime_r(&tv.tv_sec, &tm);
		fprintf(stderr, "[%04d/%02d/%02d %02d:%02d:%02d:%04d] %c: %s", tm.tm_year + 1900,
			tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			(int)(tv.tv_usec / 100), level_letter(level), line);
	} else {
		fprintf(stderr, "%c: %s", level_letter(level), line);
	}
}

void lwsl_emit_stderr(int level, const char *line) {
	emit_stderr(level, line, true);
}

void lwsl_emit_stderr_notimestamp(int level, const char *line) {
	emit_stderr(level, line, false);
}

/*
 * Every finished line goes through here. It is also where wsc's own log lines belong:
 * a wsc_log_fn registered with wsc_log_set_handler maps its level (WSC_LOG_ERROR ..
 * WSC_LOG_TRACE) to LLL_ERR, LLL_WARN, LLL_NOTICE, LLL_INFO, LLL_DEBUG and calls this
 * with the line (and a "\n", as libwebsockets' lines end with one).
 */
void lws_compat_log_line(int filter, const char *line) {
	if (log_level & filter)
		log_emit(filter, line);
}

void _lws_logv(int filter, const char *format, va_list vl) {
	char buf[1024];
	if (!(log_level & filter))
		return;
	int n = vsnprintf(buf, sizeof buf, format, vl);
	if (n < 0)
		return;
	lws_compat_log_line(filter, buf);
}

void _lws_log(int filter, const char *format, ...) {
	va_list ap;
	va_start(ap, format);
	_lws_logv(filter, format, ap);
	va_end(ap);
}

void lwsl_hexdump_level(int level, const void *vbuf, size_t len) {
	const unsigned char *buf = vbuf;
	if (!(log_level & level))
		return;
	if (!buf || !len) {
		_lws_log(level, "(hexdump: empty)\n");
		return;
	}
	for (size_t n = 0; n < len; n += 16) {
		char line[96];
		int p = snprintf(line, sizeof line, "%04X: ", (unsigned)n);
		for (size_t m = 0; m < 16; m++)
			p += n + m < len ? snprintf(line + p, sizeof line - (size_t)p, "%02X ", buf[n + m])
					 : snprintf(line + p, sizeof line - (size_t)p, "   ");
		p += snprintf(line + p, sizeof line - (size_t)p, "   ");
		for (size_t m = 0; m < 16 && n + m < len; m++) {
			unsigned char c = buf[n + m];
			line[p++] = c >= 32 && c < 127 ? (char)c : '.';
		}
		line[p++] = '\n';
		line[p] = '\0';
		lws_compat_log_line(level, line);
	}
}

void lwsl_hexdump(const void *buf, size_t len) {
	lwsl_hexdump_level(LLL_DEBUG, buf, len);
}
