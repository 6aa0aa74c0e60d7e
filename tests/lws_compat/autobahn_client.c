/*
 * An Autobahn testsuite client in libwebsockets style: asks the fuzzing server for its
 * case count, runs each case by echoing every received chunk at once as a fragment of the
 * same type (lws_write_ws_flags from lws_is_first_fragment / lws_is_final_fragment), and
 * asks the server to write its reports. When more than ECHO_BACKLOG bytes were echoed since
 * the last CLIENT_WRITEABLE and the pipe is choked, reading stops (lws_rx_flow_control) until CLIENT_WRITEABLE. Not sooner: the
 * fuzzing server writes a whole message (up to 16 MiB in 9.*) before it reads again, so a
 * client that stopped reading while its echo of that message waits would wait forever, and
 * so would the server.
 *
 *   lws_autobahn_client [--stream] [-p PORT | --port PORT] [--agent NAME] [URL] [AGENT]
 *
 * Defaults: ws://127.0.0.1:9001, agent wsc-lws. --stream is accepted for
 * scripts/autobahn.sh (AUTOBAHN_CLIENT=...): this client always streams.
 * Exits 0 when the whole run completed (whatever the cases' verdicts), 1 otherwise.
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum stage { COUNTING, RUNNING, REPORTING, DONE, FAILED };

static struct {
	struct lws_context *context;
	char address[128];
	int port;
	const char *agent;
	enum stage stage;
	int case_count, current;
	char count_text[16];
	size_t count_len;
} run = { .port = 9001, .agent = "wsc-lws" };

struct per_session {
	unsigned char *buf; /* LWS_PRE + the chunk being echoed */
	size_t cap;
	size_t since_writeable; /* bytes echoed since the last CLIENT_WRITEABLE */
};

static void connect_next(void);

/* Echo bytes that may wait unsent before reading stops: more than the largest message. */
#define ECHO_BACKLOG ((size_t)32 * 1024 * 1024)

static int echo_chunk(struct lws *wsi, struct per_session *pss, const void *in, size_t len) {
	if (pss->cap < LWS_PRE + len) {
		unsigned char *b = realloc(pss->buf, LWS_PRE + len);
		if (!b)
			return -1;
		pss->buf = b;
		pss->cap = LWS_PRE + len;
	}
	if (len)
		memcpy(pss->buf + LWS_PRE, in, len);
	int flags = lws_write_ws_flags(lws_frame_is_binary(wsi) ? LWS_WRITE_BINARY : LWS_WRITE_TEXT,
				       lws_is_first_fragment(wsi), lws_is_final_fragment(wsi));
	if (lws_write(wsi, pss->buf + LWS_PRE, len, (enum lws_write_protocol)flags) < (int)len)
		return -1;
	pss->since_writeable += len;
	if (lws_send_pipe_choked(wsi)) {
		/* let the server's sends wait in TCP until ours have gone out */
		if (pss->since_writeable > ECHO_BACKLOG)
			lws_rx_flow_control(wsi, 0);
		lws_callback_on_writable(wsi);
	}
	return 0;
}

static int callback_autobahn(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			     void *in, size_t len) {
	struct per_session *pss = user;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (run.stage == COUNTING) {
			if (run.count_len + len < sizeof run.count_text) {
				memcpy(run.count_text + run.count_len, in, len);
				run.count_len += len;
			}
			return 0;
		}
		if (run.stage == RUNNING)
			return echo_chunk(wsi, pss, in, len);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		pss->since_writeable = 0;
		lws_rx_flow_control(wsi, 1);
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		lwsl_err("%s: connection error: %s\n", run.stage == RUNNING ? "case" : "control",
			 in ? (const char *)in : "(null)");
		if (run.stage != RUNNING)
			run.stage = FAILED;
		else
			connect_next();
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		connect_next();
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		if (pss)
			free(pss->buf);
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{ "autobahn", callback_autobahn, sizeof(struct per_session), 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

/* The offer every Autobahn 13.* server answer accepts (13.2, 13.5 and 13.6 answer with
 * client_no_context_takeover, which a client may only get when it offered it), as
 * c_examples/echo_client.c makes. */
static const struct lws_extension extensions[] = {
	{ "permessage-deflate", lws_extension_callback_pm_deflate,
	  "permessage-deflate; client_no_context_takeover; client_max_window_bits" },
	{ NULL, NULL, NULL }
};

static void connect_path(const char *path) {
	struct lws_client_connect_info i;
	memset(&i, 0, sizeof i);
	i.context = run.context;
	i.address = run.address;
	i.port = run.port;
	i.path = path;
	i.host = i.address;
	i.origin = i.address;
	i.local_protocol_name = protocols[0].name;
	if (!lws_client_connect_via_info(&i))
		run.stage = FAILED;
}

/* After each connection: the next case, then the reports. */
static void connect_next(void) {
	char path[256];
	switch (run.stage) {
	case COUNTING:
		run.count_text[run.count_len] = '\0';
		run.case_count = atoi(run.count_text);
		lwsl_user("%d cases\n", run.case_count);
		run.stage = RUNNING;
		/* fall through */
	case RUNNING:
		if (run.current < run.case_count) {
			run.current++;
			lws_snprintf(path, sizeof path, "/runCase?case=%d&agent=%s", run.current,
				     run.agent);
			connect_path(path);
			return;
		}
		run.stage = REPORTING;
		lws_snprintf(path, sizeof path, "/updateReports?agent=%s", run.agent);
		connect_path(path);
		return;
	case REPORTING:
		run.stage = DONE;
		return;
	default:
		return;
	}
}

int main(int argc, const char **argv) {
	struct lws_context_creation_info info;
	const char *url = NULL, *p;
	int n = 0, positional = 0;

	lws_strncpy(run.address, "127.0.0.1", sizeof run.address);
	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--stream")) {
			continue;
		} else if ((!strcmp(argv[a], "-p") || !strcmp(argv[a], "--port") ||
			    !strcmp(argv[a], "--agent")) && a + 1 < argc) {
			a++;
		} else if (argv[a][0] == '-') {
			fprintf(stderr, "usage: %s [-p PORT] [--agent NAME] [URL] [AGENT]\n", argv[0]);
			return 1;
		} else if (positional++ == 0) {
			url = argv[a];
		} else {
			run.agent = argv[a];
		}
	}
	if (url) {
		static char buf[256];
		const char *prot, *ads, *path;
		lws_strncpy(buf, url, sizeof buf);
		if (lws_parse_uri(buf, &prot, &ads, &run.port, &path)) {
			fprintf(stderr, "bad URL %s\n", url);
			return 1;
		}
		lws_strncpy(run.address, ads, sizeof run.address);
	}
	if ((p = lws_cmdline_option(argc, argv, "--port")) || (p = lws_cmdline_option(argc, argv, "-p")))
		run.port = atoi(p);
	if ((p = lws_cmdline_option(argc, argv, "--agent")))
		run.agent = p;
	lws_set_log_level(LLL_ERR | LLL_WARN | LLL_USER, NULL);

	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.extensions = extensions;
	run.context = lws_create_context(&info);
	if (!run.context)
		return 1;
	connect_path("/getCaseCount");
	while (n >= 0 && run.stage != DONE && run.stage != FAILED)
		n = lws_service(run.context, 0);
	lws_context_destroy(run.context);
	lwsl_user("%s after %d of %d cases\n", run.stage == DONE ? "completed" : "failed",
		  run.current, run.case_count);
	return run.stage == DONE ? 0 : 1;
}
