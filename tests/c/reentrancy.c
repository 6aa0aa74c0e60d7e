/*
 * Calling the API from inside callbacks, against the echo server (URL: last argument):
 * sending from on_open and on_message, closing from on_message, starting (and abandoning)
 * other connections from on_message, releasing the owned handle from on_message and from
 * on_close, freeing the context from on_message (and from the application with connections
 * open), closing before the connection is open, and using a handle after its connection
 * closed.
 */
#include "wsc_test.h"

static const char *server; /* ws://127.0.0.1:PORT */

/* What one connection went through, plus what its scenario needs. */
struct conn_state {
    const char *name;
    wsc_context *ctx;
    wsc_connection *handle; /* the owned handle from wsc_connect's out, or NULL */
    int opens, messages, pongs, errors, closes, after_close;
    wsc_result error_result;
    char error_message[256];
    uint16_t close_code;
    char close_reason[128];
    wsc_closed_by closed_by;
    bool clean;
    /* what the scenario needs */
    bool free_handle_in_on_close;
    struct conn_state *inner, *abandoned;
};

static void record_error(struct conn_state *st, wsc_result result, const char *message) {
    if (st->closes) st->after_close++;
    if (st->errors++ == 0) {
        st->error_result = result;
        snprintf(st->error_message, sizeof st->error_message, "%s", message ? message : "(null)");
    }
    fprintf(stderr, "  [%s] on_error %d (%s): %s\n", st->name, (int)result,
            wsc_result_str((int)result), message ? message : "(null)");
}

static void record_close(struct conn_state *st, uint16_t code, const char *reason,
                         size_t reason_len, wsc_closed_by closed_by, bool clean) {
    if (st->closes++ == 0) {
        st->close_code = code;
        st->closed_by = closed_by;
        st->clean = clean;
        snprintf(st->close_reason, sizeof st->close_reason, "%.*s", (int)reason_len,
                 reason ? reason : "");
    }
}

static void check_closed(const struct conn_state *st, uint16_t code, wsc_closed_by by,
                         bool clean) {
    if (st->closes != 1) FAIL("%s: on_close called %d times, expected once", st->name, st->closes);
    if (st->after_close) FAIL("%s: %d callbacks after on_close", st->name, st->after_close);
    if (st->closes == 0) return;
    if (st->close_code != code)
        FAIL("%s: on_close code %u, expected %u", st->name, st->close_code, code);
    if (st->closed_by != by)
        FAIL("%s: on_close closed_by %d, expected %d", st->name, (int)st->closed_by, (int)by);
    if (st->clean != clean)
        FAIL("%s: on_close clean=%d, expected %d", st->name, (int)st->clean, (int)clean);
}

static bool is_closed(void *arg) { return ((struct conn_state *)arg)->closes > 0; }

static bool all_closed(void *arg) {
    return wsc_context_connection_count((wsc_context *)arg) == 0;
}

static bool text_is(const uint8_t *data, size_t len, const char *s) {
    return len == strlen(s) && (len == 0 || memcmp(data, s, len) == 0);
}

static wsc_context *new_context(void) {
    wsc_context *ctx = NULL;
    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK && ctx != NULL);
    return ctx;
}

/* --- 1. send from on_open and on_message, close from on_message; the handle afterwards --- */

static void s1_on_open(wsc_connection *conn, void *user) {
    struct conn_state *st = user;
    static const uint8_t bin[] = {0, 1, 2, 0xff};
    st->opens++;
    CHECK_RESULT(wsc_send_text(conn, "one", 3), WSC_OK);
    CHECK_RESULT(wsc_send_binary(conn, bin, sizeof bin), WSC_OK);
    CHECK_RESULT(wsc_send_ping(conn, (const uint8_t *)"p", 1), WSC_OK);
    CHECK_RESULT(wsc_service(st->ctx, 0), WSC_ERR_BUSY);
}

static void s1_on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                          void *user) {
    struct conn_state *st = user;
    static const uint8_t bin[] = {0, 1, 2, 0xff};
    if (st->closes) st->after_close++;
    switch (st->messages++) {
    case 0:
        CHECK(is_text && text_is(data, len, "one"));
        CHECK_RESULT(wsc_send_text(conn, "two", 3), WSC_OK);
        break;
    case 1:
        CHECK(!is_text && len == sizeof bin && memcmp(data, bin, len) == 0);
        break;
    case 2:
        CHECK(is_text && text_is(data, len, "two"));
        CHECK_RESULT(wsc_service(st->ctx, 0), WSC_ERR_BUSY);
        CHECK_RESULT(wsc_close(conn, WSC_CLOSE_NORMAL, "done"), WSC_OK);
        /* Our Close frame is queued: nothing more can be sent. */
        CHECK_RESULT(wsc_send_text(conn, "three", 5), WSC_ERR_NOT_OPEN);
        CHECK_RESULT(wsc_send_binary(conn, bin, sizeof bin), WSC_ERR_NOT_OPEN);
        /* Closing again is harmless (whatever it returns, no second on_close). */
        (void)wsc_close(conn, WSC_CLOSE_GOING_AWAY, "again");
        break;
    default:
        FAIL("%s: unexpected message #%d (%zu bytes)", st->name, st->messages, len);
    }
}

static void s1_on_pong(wsc_connection *conn, const uint8_t *data, size_t len, void *user) {
    struct conn_state *st = user;
    (void)conn;
    if (st->closes) st->after_close++;
    st->pongs++;
    CHECK(text_is(data, len, "p"));
}

static void s_on_error(wsc_connection *conn, wsc_result result, const char *message,
                       void *user) {
    (void)conn;
    record_error(user, result, message);
}

static void s1_on_close(wsc_connection *conn, uint16_t code, const char *reason,
                        size_t reason_len, wsc_closed_by closed_by, bool clean, void *user) {
    struct conn_state *st = user;
    record_close(st, code, reason, reason_len, closed_by, clean);
    CHECK_RESULT(wsc_send_text(conn, "late", 4), WSC_ERR_NOT_OPEN);
    CHECK_RESULT(wsc_service(st->ctx, 0), WSC_ERR_BUSY);
}

static void scenario_send_and_close_from_callbacks(void) {
    wsc_context *ctx = new_context();
    struct conn_state st;
    memset(&st, 0, sizeof st);
    st.name = "send/close from callbacks";
    st.ctx = ctx;
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_open = s1_on_open;
    cb.on_message = s1_on_message;
    cb.on_pong = s1_on_pong;
    cb.on_error = s_on_error;
    cb.on_close = s1_on_close;
    CHECK_RESULT(wsc_connect(ctx, server, NULL, &cb, &st, &st.handle), WSC_OK);
    REQUIRE(st.handle != NULL);
    wt_service_until(ctx, is_closed, &st, 10.0, st.name);
    for (int i = 0; i < 3; i++) CHECK_RESULT(wsc_service(ctx, 10), WSC_OK);
    check_closed(&st, WSC_CLOSE_NORMAL, WSC_CLOSED_BY_APPLICATION, true);
    CHECK(strcmp(st.close_reason, "done") == 0);
    CHECK_INT(st.opens, 1);
    CHECK_INT(st.messages, 3);
    CHECK_INT(st.pongs, 1);
    CHECK_INT(st.errors, 0);
    CHECK_INT(wsc_context_connection_count(ctx), 0);

    /* The handle outlives its connection: every call fails cleanly until it is freed. */
    const uint8_t byte = 7;
    for (int i = 0; i < 2; i++) {
        CHECK_RESULT(wsc_send_text(st.handle, "after", 5), WSC_ERR_NOT_OPEN);
        CHECK_RESULT(wsc_send_binary(st.handle, &byte, 1), WSC_ERR_NOT_OPEN);
        CHECK_RESULT(wsc_send_fragment(st.handle, true, &byte, 1, true), WSC_ERR_NOT_OPEN);
        CHECK_RESULT(wsc_send_ping(st.handle, &byte, 1), WSC_ERR_NOT_OPEN);
        (void)wsc_close(st.handle, WSC_CLOSE_NORMAL, NULL); /* harmless */
        CHECK_RESULT(wsc_service(ctx, 10), WSC_OK);
    }
    CHECK_INT(st.closes, 1);
    wsc_connection_free(st.handle);
    wsc_context_free(ctx);
}

/* --- 2. connect from on_message: one run to completion, one abandoned before it opens --- */

static void inner_on_open(wsc_connection *conn, void *user) {
    struct conn_state *st = user;
    st->opens++;
    CHECK_RESULT(wsc_send_text(conn, "inner", 5), WSC_OK);
}

static void inner_on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                             void *user) {
    struct conn_state *st = user;
    if (st->closes) st->after_close++;
    st->messages++;
    CHECK(is_text && text_is(data, len, "inner"));
    CHECK_RESULT(wsc_close(conn, WSC_CLOSE_NORMAL, NULL), WSC_OK);
}

static void plain_on_open(wsc_connection *conn, void *user) {
    struct conn_state *st = user;
    (void)conn;
    st->opens++;
}

static void plain_on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                             void *user) {
    struct conn_state *st = user;
    (void)conn, (void)data, (void)len, (void)is_text;
    if (st->closes) st->after_close++;
    st->messages++;
}

static void plain_on_close(wsc_connection *conn, uint16_t code, const char *reason,
                           size_t reason_len, wsc_closed_by closed_by, bool clean, void *user) {
    struct conn_state *st = user;
    (void)conn;
    record_close(st, code, reason, reason_len, closed_by, clean);
    if (st->free_handle_in_on_close) {
        wsc_connection_free(st->handle);
        st->handle = NULL;
    }
}

static const wsc_callbacks inner_callbacks = {
    .struct_size = sizeof(wsc_callbacks), .on_open = inner_on_open, .on_message = inner_on_message,
    .on_error = s_on_error, .on_close = plain_on_close,
};
static const wsc_callbacks plain_callbacks = {
    .struct_size = sizeof(wsc_callbacks), .on_open = plain_on_open, .on_message = plain_on_message,
    .on_error = s_on_error, .on_close = plain_on_close,
};

static void outer_on_open(wsc_connection *conn, void *user) {
    struct conn_state *st = user;
    st->opens++;
    CHECK_RESULT(wsc_send_text(conn, "start", 5), WSC_OK);
}

static void outer_on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                             void *user) {
    struct conn_state *st = user;
    (void)data, (void)len, (void)is_text;
    if (st->closes) st->after_close++;
    if (st->messages++ != 0) return;
    CHECK_RESULT(wsc_connect(st->ctx, server, NULL, &inner_callbacks, st->inner,
                             &st->inner->handle),
                 WSC_OK);
    CHECK(st->inner->handle != NULL);
    /* Another one, abandoned at once: released in its own on_close. */
    st->abandoned->free_handle_in_on_close = true;
    CHECK_RESULT(wsc_connect(st->ctx, server, NULL, &plain_callbacks, st->abandoned,
                             &st->abandoned->handle),
                 WSC_OK);
    if (st->abandoned->handle)
        CHECK_RESULT(wsc_close(st->abandoned->handle, WSC_CLOSE_NORMAL, NULL), WSC_OK);
    CHECK_INT(wsc_context_connection_count(st->ctx), 3);
    CHECK_RESULT(wsc_close(conn, WSC_CLOSE_NORMAL, NULL), WSC_OK);
}

static void scenario_connect_from_callback(void) {
    wsc_context *ctx = new_context();
    struct conn_state outer, inner, abandoned;
    memset(&outer, 0, sizeof outer);
    memset(&inner, 0, sizeof inner);
    memset(&abandoned, 0, sizeof abandoned);
    outer.name = "outer (connects from on_message)";
    inner.name = "inner (connected from on_message)";
    abandoned.name = "abandoned (connected and closed from on_message)";
    outer.ctx = inner.ctx = abandoned.ctx = ctx;
    outer.inner = &inner;
    outer.abandoned = &abandoned;
    wsc_callbacks cb = plain_callbacks;
    cb.on_open = outer_on_open;
    cb.on_message = outer_on_message;
    CHECK_RESULT(wsc_connect(ctx, server, NULL, &cb, &outer, NULL), WSC_OK);
    wt_service_until(ctx, all_closed, ctx, 10.0, "the three connections of scenario 2");

    check_closed(&outer, WSC_CLOSE_NORMAL, WSC_CLOSED_BY_APPLICATION, true);
    check_closed(&inner, WSC_CLOSE_NORMAL, WSC_CLOSED_BY_APPLICATION, true);
    CHECK_INT(inner.opens, 1);
    CHECK_INT(inner.messages, 1);
    check_closed(&abandoned, WSC_CLOSE_ABNORMAL, WSC_CLOSED_BY_APPLICATION, false);
    CHECK_INT(abandoned.opens, 0);
    CHECK_INT(abandoned.errors, 0);
    CHECK(abandoned.handle == NULL); /* freed in its on_close */
    CHECK_INT(outer.errors + inner.errors, 0);

    CHECK_RESULT(wsc_send_text(inner.handle, "x", 1), WSC_ERR_NOT_OPEN);
    wsc_connection_free(inner.handle);
    wsc_context_free(ctx);
}

/* --- 3. release the owned handle from on_close, and from on_message --- */

static void s3_on_open(wsc_connection *conn, void *user) {
    struct conn_state *st = user;
    st->opens++;
    if (st->free_handle_in_on_close) {
        CHECK_RESULT(wsc_close(conn, WSC_CLOSE_NORMAL, NULL), WSC_OK);
    } else {
        CHECK_RESULT(wsc_send_text(conn, "a", 1), WSC_OK);
        CHECK_RESULT(wsc_send_text(conn, "b", 1), WSC_OK);
        CHECK_RESULT(wsc_send_text(conn, "c", 1), WSC_OK);
    }
}

static void s3_on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                          void *user) {
    struct conn_state *st = user;
    static const char *const expected[] = {"a", "b", "c", "d"};
    if (st->closes) st->after_close++;
    int i = st->messages++;
    if (i >= 4) {
        FAIL("%s: unexpected message #%d", st->name, i + 1);
        return;
    }
    CHECK(is_text && text_is(data, len, expected[i]));
    if (i == 0) {
        /* Release our handle; `conn` stays valid for this call and callbacks go on. */
        wsc_connection_free(st->handle);
        st->handle = NULL;
        CHECK_RESULT(wsc_send_text(conn, "d", 1), WSC_OK);
    } else if (i == 3) {
        CHECK_RESULT(wsc_close(conn, WSC_CLOSE_NORMAL, "end"), WSC_OK);
    }
}

static void s3_on_close(wsc_connection *conn, uint16_t code, const char *reason,
                        size_t reason_len, wsc_closed_by closed_by, bool clean, void *user) {
    struct conn_state *st = user;
    record_close(st, code, reason, reason_len, closed_by, clean);
    if (st->free_handle_in_on_close) {
        wsc_connection_free(st->handle);
        st->handle = NULL;
    }
    /* `conn` is valid for the whole call, the owned handle released or not. */
    CHECK_RESULT(wsc_send_text(conn, "x", 1), WSC_ERR_NOT_OPEN);
    CHECK_INT(wsc_connection_buffered_amount(conn), 0);
}

static void scenario_free_handle_in_callbacks(void) {
    wsc_context *ctx = new_context();
    struct conn_state in_close, in_message;
    memset(&in_close, 0, sizeof in_close);
    memset(&in_message, 0, sizeof in_message);
    in_close.name = "handle freed in on_close";
    in_message.name = "handle freed in on_message";
    in_close.ctx = in_message.ctx = ctx;
    in_close.free_handle_in_on_close = true;
    const wsc_callbacks cb = {
        .struct_size = sizeof(wsc_callbacks), .on_open = s3_on_open, .on_message = s3_on_message,
        .on_error = s_on_error, .on_close = s3_on_close,
    };
    CHECK_RESULT(wsc_connect(ctx, server, NULL, &cb, &in_close, &in_close.handle), WSC_OK);
    CHECK_RESULT(wsc_connect(ctx, server, NULL, &cb, &in_message, &in_message.handle), WSC_OK);
    wt_service_until(ctx, all_closed, ctx, 10.0, "scenario 3 connections to close");

    check_closed(&in_close, WSC_CLOSE_NORMAL, WSC_CLOSED_BY_APPLICATION, true);
    CHECK(in_close.handle == NULL);
    check_closed(&in_message, WSC_CLOSE_NORMAL, WSC_CLOSED_BY_APPLICATION, true);
    CHECK_INT(in_message.messages, 4); /* a, b, c, then d sent after the handle was freed */
    CHECK(strcmp(in_message.close_reason, "end") == 0);
    CHECK(in_message.handle == NULL);
    CHECK_INT(in_close.errors + in_message.errors, 0);
    wsc_context_free(ctx);
}

/* --- 4. wsc_context_free from on_message (and from the application) --- */

struct teardown {
    wsc_context *ctx;
    int freed;              /* wsc_context_free was called */
    int closes_during_free; /* on_close calls that ran after that */
};

static struct teardown td;

static void s4_on_open(wsc_connection *conn, void *user) {
    struct conn_state *st = user;
    (void)conn;
    st->opens++;
}

static void s4_on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                          void *user) {
    struct conn_state *st = user;
    (void)conn;
    if (st->closes) st->after_close++;
    st->messages++;
    CHECK(is_text && text_is(data, len, "free"));
    if (td.freed) return;
    td.freed = 1;
    wsc_context_free(st->ctx);
    /* The context lives on until wsc_service returns, but takes no new connections. */
    CHECK_RESULT(wsc_connect(st->ctx, server, NULL, NULL, NULL, NULL), WSC_ERR_CONTEXT_CLOSED);
}

static void s4_on_close(wsc_connection *conn, uint16_t code, const char *reason,
                        size_t reason_len, wsc_closed_by closed_by, bool clean, void *user) {
    struct conn_state *st = user;
    record_close(st, code, reason, reason_len, closed_by, clean);
    if (td.freed) {
        td.closes_during_free++;
        /* Still inside the loop (or the free): no nested loop (BUSY, or CONTEXT_CLOSED
         * since the context is being freed), no new connections. */
        wsc_result r = wsc_service(st->ctx, 0);
        if (r != WSC_ERR_BUSY && r != WSC_ERR_CONTEXT_CLOSED)
            FAIL("%s: wsc_service in on_close during context free returned %d (%s)", st->name,
                 (int)r, wsc_result_str((int)r));
        CHECK_RESULT(wsc_connect(st->ctx, server, NULL, NULL, NULL, NULL),
                     WSC_ERR_CONTEXT_CLOSED);
    }
    CHECK_RESULT(wsc_send_text(conn, "x", 1), WSC_ERR_NOT_OPEN);
    if (st->free_handle_in_on_close) {
        wsc_connection_free(st->handle);
        st->handle = NULL;
    }
}

static bool all_open(void *arg) {
    struct conn_state *c = arg;
    return c[0].opens && c[1].opens && c[2].opens;
}

static bool context_freed(void *arg) {
    (void)arg;
    return td.freed != 0;
}

static const wsc_callbacks s4_callbacks = {
    .struct_size = sizeof(wsc_callbacks), .on_open = s4_on_open, .on_message = s4_on_message,
    .on_error = s_on_error, .on_close = s4_on_close,
};

/* Three open connections; `from_callback`: the first frees the context from on_message,
 * else the application frees it between two wsc_service calls. */
static void scenario_free_context(bool from_callback) {
    memset(&td, 0, sizeof td);
    td.ctx = new_context();
    struct conn_state c[3];
    memset(c, 0, sizeof c);
    c[0].name = from_callback ? "frees the context from on_message" : "open at context free (1)";
    c[1].name = from_callback ? "open at context free, handle freed in on_close"
                              : "open at context free, handle freed in on_close (2)";
    c[2].name = from_callback ? "open at context free, no handle" : "open at context free (3)";
    for (int i = 0; i < 3; i++) c[i].ctx = td.ctx;
    c[1].free_handle_in_on_close = true;
    CHECK_RESULT(wsc_connect(td.ctx, server, NULL, &s4_callbacks, &c[0], &c[0].handle), WSC_OK);
    CHECK_RESULT(wsc_connect(td.ctx, server, NULL, &s4_callbacks, &c[1], &c[1].handle), WSC_OK);
    CHECK_RESULT(wsc_connect(td.ctx, server, NULL, &s4_callbacks, &c[2], &c[2].handle), WSC_OK);
    wsc_connection *keep = c[2].handle;
    if (!wt_service_until(td.ctx, all_open, c, 10.0, "three connections to open")) {
        wsc_context_free(td.ctx);
        wsc_connection_free(c[0].handle);
        wsc_connection_free(c[1].handle);
        wsc_connection_free(c[2].handle);
        return;
    }

    if (from_callback) {
        CHECK_RESULT(wsc_send_text(c[0].handle, "free", 4), WSC_OK);
        /* The context is freed when the wsc_service running the callback returns: after
         * that, ctx must not be touched. */
        double deadline = wt_now() + 10.0;
        while (!context_freed(NULL) && wt_now() < deadline) {
            wsc_result r = wsc_service(td.ctx, 50);
            if (r != WSC_OK && !td.freed)
                FAIL("wsc_service returned %d (%s)", (int)r, wsc_result_str((int)r));
        }
        if (!td.freed) {
            FAIL("timed out waiting for the echo that frees the context");
            wsc_context_free(td.ctx);
        }
    } else {
        td.freed = 1;
        wsc_context_free(td.ctx);
    }

    /* Every connection heard on_close exactly once, before wsc_service (or the free)
     * returned, as closed by the application without a closing handshake. */
    CHECK_INT(td.closes_during_free, 3);
    for (int i = 0; i < 3; i++) {
        check_closed(&c[i], WSC_CLOSE_ABNORMAL, WSC_CLOSED_BY_APPLICATION, false);
        if (c[i].errors) FAIL("%s: on_error during context free", c[i].name);
    }
    CHECK(c[1].handle == NULL);

    /* Owned handles stay usable (and refuse to send) until released. */
    CHECK_RESULT(wsc_send_text(keep, "x", 1), WSC_ERR_NOT_OPEN);
    CHECK_RESULT(wsc_send_ping(c[0].handle, NULL, 0), WSC_ERR_NOT_OPEN);
    CHECK_INT(wsc_connection_buffered_amount(keep), 0);
    wsc_connection_free(c[0].handle);
    wsc_connection_free(keep);
}

/* --- 5. wsc_close before the connection is open: abandoned --- */

static void scenario_close_before_open(void) {
    wsc_context *ctx = new_context();
    struct conn_state st;
    memset(&st, 0, sizeof st);
    st.name = "closed before open";
    st.ctx = ctx;
    CHECK_RESULT(wsc_connect(ctx, server, NULL, &plain_callbacks, &st, &st.handle), WSC_OK);
    REQUIRE(st.handle != NULL);
    CHECK_RESULT(wsc_close(st.handle, WSC_CLOSE_NORMAL, "never mind"), WSC_OK);
    CHECK_RESULT(wsc_send_text(st.handle, "x", 1), WSC_ERR_NOT_OPEN);
    wt_service_until(ctx, is_closed, &st, 10.0, st.name);
    for (int i = 0; i < 3; i++) CHECK_RESULT(wsc_service(ctx, 10), WSC_OK);
    check_closed(&st, WSC_CLOSE_ABNORMAL, WSC_CLOSED_BY_APPLICATION, false);
    CHECK_INT(st.opens, 0);
    CHECK_INT(st.errors, 0);
    CHECK_INT(wsc_context_connection_count(ctx), 0);
    CHECK_RESULT(wsc_send_text(st.handle, "x", 1), WSC_ERR_NOT_OPEN);
    wsc_connection_free(st.handle);
    wsc_context_free(ctx);
}

int main(int argc, char **argv) {
    server = wt_server_url(argc, argv);
    double start = wt_now();
    scenario_send_and_close_from_callbacks();
    scenario_connect_from_callback();
    scenario_free_handle_in_callbacks();
    scenario_free_context(true);
    scenario_free_context(false);
    scenario_close_before_open();
    if (wt_now() - start > 30.0) FAIL("took %.1f s", wt_now() - start);
    return wt_finish("reentrancy");
}
