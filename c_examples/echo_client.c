/*
 * Autobahn testsuite client: asks a fuzzingserver how many cases it has, runs each one by
 * echoing every message back with its type, then asks the server to write its reports.
 *
 *   echo_client [--stream] [URL] [AGENT]      defaults: ws://127.0.0.1:9001 wsc
 *
 * --stream: messages are received in parts (stream_messages) and each part is echoed as it
 * arrives with wsc_send_fragment, so no message is ever held whole. Reading pauses while more
 * than half of the send buffer is unwritten and resumes on on_writable (TCP backpressure
 * instead of a refused send).
 * Exits 0 when the whole run completed (whatever the cases' verdicts), 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wsc.h>

struct run {
    int case_count;      /* from /getCaseCount, -1 until known */
    int failed;          /* a control connection (count, reports) failed */
    int opened;          /* the reports connection was accepted */
};

static void on_message_echo(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                            void *user) {
    (void)user;
    wsc_result r = is_text ? wsc_send_text(conn, (const char *)data, len)
                           : wsc_send_binary(conn, data, len);
    if (r != WSC_OK && r != WSC_ERR_NOT_OPEN)
        fprintf(stderr, "echo failed: %s (%s)\n", wsc_result_str(r), wsc_last_error());
}

/* Unwritten bytes above which a streaming echo stops reading until the server takes more. */
#define STREAM_PAUSE_AT (8u << 20)

static void on_part_echo(wsc_connection *conn, const uint8_t *data, size_t len, uint32_t flags,
                         uint64_t remaining_in_frame, void *user) {
    (void)remaining_in_frame; (void)user;
    wsc_result r = wsc_send_fragment(conn, (flags & WSC_PART_TEXT) != 0, data, len,
                                     (flags & WSC_PART_LAST) != 0);
    if (r != WSC_OK && r != WSC_ERR_NOT_OPEN) {
        fprintf(stderr, "echo failed: %s (%s)\n", wsc_result_str(r), wsc_last_error());
        return;
    }
    if (wsc_connection_buffered_amount(conn) > STREAM_PAUSE_AT) {
        wsc_pause_reading(conn);
        wsc_request_writable(conn);
    }
}

static void on_writable_resume(wsc_connection *conn, void *user) {
    (void)user;
    wsc_resume_reading(conn);
}

static void on_message_count(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                             void *user) {
    struct run *run = user;
    char text[32];
    (void)is_text;
    if (len >= sizeof text) len = sizeof text - 1;
    memcpy(text, data, len);
    text[len] = '\0';
    run->case_count = atoi(text);
    wsc_close(conn, WSC_CLOSE_NORMAL, NULL);
}

static void on_open_reports(wsc_connection *conn, void *user) {
    struct run *run = user;
    (void)conn;
    run->opened = 1;
}

static void on_error_control(wsc_connection *conn, wsc_result result, const char *message,
                             void *user) {
    struct run *run = user;
    (void)conn;
    fprintf(stderr, "error: %s: %s\n", wsc_result_str(result), message);
    run->failed = 1;
}

/* Runs one connection to BASE + PATH until it has closed. */
static int run_connection(wsc_context *ctx, const char *base, const char *path,
                          const wsc_callbacks *callbacks, void *user, bool stream) {
    char url[1024];
    if (snprintf(url, sizeof url, "%s%s", base, path) >= (int)sizeof url) {
        fprintf(stderr, "URL too long\n");
        return -1;
    }
    /* Autobahn's largest messages are 16 MiB; allow what it sends in its limit tests. */
    wsc_connect_options options = WSC_CONNECT_OPTIONS_INIT;
    options.max_frame_size = 64u << 20;
    options.max_message_size = 64u << 20;
    options.close_timeout_ms = 2000;
    options.stream_messages = stream;
    /* An offer every Autobahn 13.* server answer accepts. */
    static const wsc_deflate_offer offer = { .client_no_context_takeover = true };
    options.deflate_offers = &offer;
    options.deflate_offer_count = 1;
    wsc_result r = wsc_connect(ctx, url, &options, callbacks, user, NULL);
    if (r != WSC_OK) {
        fprintf(stderr, "wsc_connect(%s): %s (%s)\n", url, wsc_result_str(r), wsc_last_error());
        return -1;
    }
    while (wsc_context_connection_count(ctx) > 0) {
        r = wsc_service(ctx, 1000);
        if (r != WSC_OK) {
            fprintf(stderr, "wsc_service: %s\n", wsc_result_str(r));
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    bool stream = argc > 1 && strcmp(argv[1], "--stream") == 0;
    if (stream) argc--, argv++;
    const char *base = argc > 1 ? argv[1] : "ws://127.0.0.1:9001";
    const char *agent = argc > 2 ? argv[2] : "wsc";
    struct run run = { -1, 0, 0 };
    char path[256];
    wsc_context *ctx;

    if (wsc_context_new(NULL, &ctx) != WSC_OK) {
        fprintf(stderr, "wsc_context_new: %s\n", wsc_last_error());
        return 1;
    }

    wsc_callbacks count_callbacks = WSC_CALLBACKS_INIT;
    count_callbacks.on_message = on_message_count;
    count_callbacks.on_error = on_error_control;
    if (run_connection(ctx, base, "/getCaseCount", &count_callbacks, &run, false) != 0 ||
        run.case_count < 0) {
        fprintf(stderr, "could not get the case count from %s\n", base);
        wsc_context_free(ctx);
        return 1;
    }
    printf("%d cases\n", run.case_count);

    wsc_callbacks echo_callbacks = WSC_CALLBACKS_INIT;
    echo_callbacks.on_message = on_message_echo;
    echo_callbacks.on_message_part = on_part_echo;
    echo_callbacks.on_writable = on_writable_resume;
    for (int i = 1; i <= run.case_count; i++) {
        snprintf(path, sizeof path, "/runCase?case=%d&agent=%s", i, agent);
        if (run_connection(ctx, base, path, &echo_callbacks, NULL, stream) != 0) {
            wsc_context_free(ctx);
            return 1;
        }
        if (i % 50 == 0 || i == run.case_count) printf("ran %d/%d\n", i, run.case_count);
        fflush(stdout);
    }

    wsc_callbacks report_callbacks = WSC_CALLBACKS_INIT;
    report_callbacks.on_open = on_open_reports;
    snprintf(path, sizeof path, "/updateReports?agent=%s", agent);
    /* The server writes the reports once the request is accepted, and may then drop TCP. */
    int r = run_connection(ctx, base, path, &report_callbacks, &run, false);
    wsc_context_free(ctx);
    if (r != 0 || !run.opened) {
        fprintf(stderr, "could not update the reports\n");
        return 1;
    }
    return 0;
}
