/*
 * Option structs that grow: programs built with an older or a newer layout than the library's.
 *
 * - A program built with the first layout that has struct_size (wsc_v1.h, struct_size =
 *   sizeof the v1 struct) gets what it set, and defaults for every field added since: the
 *   bytes after its structs (garbage here) are never read. Its callbacks are called.
 * - A program built with a newer header (today's structs plus one appended member,
 *   struct_size covering it) works while that member is zero, its default, and is refused
 *   with WSC_ERR_INVALID_ARGUMENT and a message saying so when it is set.
 * - struct_size 0 (a struct never initialised) or below the first layout's size is refused
 *   with a message naming the macro that initialises the struct.
 *
 * Run with the URL of tests/echo_server.py as last argument. Every connection sends one text
 * message of MESSAGE_LEN bytes and closes when it comes back; a max_message_size below that
 * makes the echo fail with 1009 instead, which shows the library read that field.
 */
#include "../../c/wsc_test.h"
#include "wsc_v1.h"

#include <stddef.h>

/* ---- compile time: every v1 field is where today's header has it, with the same size ---- */

#define SAME_PLACE(current, v1, field)                                                        \
    _Static_assert(offsetof(current, field) == offsetof(v1, field) &&                         \
                       sizeof(((current *)0)->field) == sizeof(((v1 *)0)->field),             \
                   #current "." #field " is not where wsc 0.2.0 put it");
#define CONTEXT_SAME(field) SAME_PLACE(wsc_context_options, wsc_context_options_v1, field)
#define CONNECT_SAME(field) SAME_PLACE(wsc_connect_options, wsc_connect_options_v1, field)
#define CALLBACKS_SAME(field) SAME_PLACE(wsc_callbacks, wsc_callbacks_v1, field)
WSC_V1_CONTEXT_OPTIONS_FIELDS(CONTEXT_SAME)
WSC_V1_CONNECT_OPTIONS_FIELDS(CONNECT_SAME)
WSC_V1_CALLBACKS_FIELDS(CALLBACKS_SAME)
_Static_assert(sizeof(wsc_context_options) >= sizeof(wsc_context_options_v1), "shrank");
_Static_assert(sizeof(wsc_connect_options) >= sizeof(wsc_connect_options_v1), "shrank");
_Static_assert(sizeof(wsc_callbacks) >= sizeof(wsc_callbacks_v1), "shrank");

/* ---- the structs of a newer header: today's and one member more ---- */

typedef struct {
    wsc_context_options current;
    uint64_t added;
} newer_context_options;

typedef struct {
    wsc_connect_options current;
    uint64_t added;
} newer_connect_options;

typedef struct {
    wsc_callbacks current;
    void (*added)(wsc_connection *conn, void *user);
} newer_callbacks;

/* ---- an old program's structs, with garbage where newer fields would be ---- */

#define GARBAGE 0xA5

typedef struct {
    wsc_context_options_v1 v1;
    unsigned char after[64];
} old_context_options;

typedef struct {
    wsc_connect_options_v1 v1;
    unsigned char after[64];
} old_connect_options;

typedef struct {
    wsc_callbacks_v1 v1;
    unsigned char after[64];
} old_callbacks;

/* ---- one connection: send a message, close when it comes back ---- */

#define MESSAGE_LEN 100

struct run {
    int opens, messages, errors, closes;
    wsc_result error;
    uint16_t close_code;
    bool clean;
    size_t received;
};

static void on_open(wsc_connection *conn, void *user) {
    struct run *run = user;
    char text[MESSAGE_LEN];
    run->opens++;
    memset(text, 'x', sizeof text);
    CHECK_RESULT(wsc_send_text(conn, text, sizeof text), WSC_OK);
}

static void on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                       void *user) {
    struct run *run = user;
    (void)data;
    (void)is_text;
    run->messages++;
    run->received = len;
    CHECK_RESULT(wsc_close(conn, WSC_CLOSE_NORMAL, NULL), WSC_OK);
}

static void on_error(wsc_connection *conn, wsc_result result, const char *message, void *user) {
    struct run *run = user;
    (void)conn;
    (void)message;
    run->errors++;
    run->error = result;
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason, size_t reason_len,
                     wsc_closed_by closed_by, bool clean, void *user) {
    struct run *run = user;
    (void)conn;
    (void)reason;
    (void)reason_len;
    (void)closed_by;
    run->closes++;
    run->close_code = code;
    run->clean = clean;
}

static bool closed(void *arg) { return ((struct run *)arg)->closes > 0; }

/* Connects with options and callbacks given as raw pointers (as a program built with another
 * header passes them), runs the connection to its end; its record. */
static struct run run_connection(wsc_context *ctx, const char *url, const void *options,
                                 const void *callbacks, const char *what) {
    struct run run;
    memset(&run, 0, sizeof run);
    wsc_result r = wsc_connect(ctx, url, (const wsc_connect_options *)options,
                               (const wsc_callbacks *)callbacks, &run, NULL);
    if (r != WSC_OK) {
        FAIL("%s: wsc_connect returned %s (%s)", what, wsc_result_str((int)r), wsc_last_error());
        return run;
    }
    wt_service_until(ctx, closed, &run, 10.0, what);
    return run;
}

/* The connection echoed the message and closed cleanly. */
static void check_echoed(const struct run *run, const char *what) {
    if (run->opens != 1 || run->messages != 1 || run->received != MESSAGE_LEN ||
        run->errors != 0 || run->closes != 1 || run->close_code != WSC_CLOSE_NORMAL ||
        !run->clean)
        FAIL("%s: opens %d, messages %d (%zu bytes), errors %d (%s), closes %d (code %u, %s)",
             what, run->opens, run->messages, run->received, run->errors,
             run->errors ? wsc_result_str((int)run->error) : "-", run->closes,
             (unsigned)run->close_code, run->clean ? "clean" : "not clean");
}

/* The echo was over max_message_size: the connection failed with 1009. */
static void check_too_big(const struct run *run, const char *what) {
    if (run->opens != 1 || run->messages != 0 || run->errors != 1 ||
        run->error != WSC_ERR_MESSAGE_TOO_BIG || run->closes != 1 ||
        run->close_code != WSC_CLOSE_MESSAGE_TOO_BIG)
        FAIL("%s: expected the echo refused with 1009; opens %d, messages %d, errors %d (%s), "
             "closes %d (code %u)",
             what, run->opens, run->messages, run->errors,
             run->errors ? wsc_result_str((int)run->error) : "-", run->closes,
             (unsigned)run->close_code);
}

static void check_message_has(const char *what, const char *expected) {
    const char *message = wsc_last_error();
    if (strstr(message, expected) == NULL)
        FAIL("%s: wsc_last_error \"%s\" does not say \"%s\"", what, message, expected);
}

/* ---- the scenarios ---- */

static void old_program(const char *url) {
    /* Everything the structs do not cover is garbage, as memory after a struct may be. */
    static old_context_options context_options;
    static old_connect_options options;
    static old_callbacks callbacks;
    memset(&context_options, GARBAGE, sizeof context_options);
    memset(&options, GARBAGE, sizeof options);
    memset(&callbacks, GARBAGE, sizeof callbacks);
    memset(&context_options.v1, 0, sizeof context_options.v1);
    memset(&options.v1, 0, sizeof options.v1);
    memset(&callbacks.v1, 0, sizeof callbacks.v1);
    context_options.v1.struct_size = sizeof(wsc_context_options_v1);
    context_options.v1.read_buffer_size = 4096;
    options.v1.struct_size = sizeof(wsc_connect_options_v1);
    callbacks.v1.struct_size = sizeof(wsc_callbacks_v1);
    callbacks.v1.on_open = on_open;
    callbacks.v1.on_message = on_message;
    callbacks.v1.on_error = on_error;
    callbacks.v1.on_close = on_close;

    wsc_context *ctx = NULL;
    CHECK_RESULT(wsc_context_new((const wsc_context_options *)&context_options, &ctx), WSC_OK);
    if (ctx == NULL) return;
    /* v1 options left at their defaults, and whatever was added since at its own. */
    struct run run = run_connection(ctx, url, &options, &callbacks, "v1 structs, defaults");
    check_echoed(&run, "v1 structs, defaults");
    /* A v1 field the program sets is the one the library reads. */
    options.v1.max_message_size = MESSAGE_LEN / 2;
    run = run_connection(ctx, url, &options, &callbacks, "v1 max_message_size");
    check_too_big(&run, "v1 max_message_size");
    wsc_context_free(ctx);
}

static void newer_program(const char *url) {
    newer_context_options context_options = {WSC_CONTEXT_OPTIONS_INIT, 0};
    newer_connect_options options = {WSC_CONNECT_OPTIONS_INIT, 0};
    newer_callbacks callbacks = {WSC_CALLBACKS_INIT, NULL};
    context_options.current.struct_size = sizeof context_options;
    options.current.struct_size = sizeof options;
    callbacks.current.struct_size = sizeof callbacks;
    callbacks.current.on_open = on_open;
    callbacks.current.on_message = on_message;
    callbacks.current.on_error = on_error;
    callbacks.current.on_close = on_close;

    /* The added members at zero, their default: accepted, and today's fields still read. */
    wsc_context *ctx = NULL;
    CHECK_RESULT(wsc_context_new((const wsc_context_options *)&context_options, &ctx), WSC_OK);
    if (ctx == NULL) return;
    struct run run = run_connection(ctx, url, &options, &callbacks, "newer structs, added 0");
    check_echoed(&run, "newer structs, added 0");
    options.current.max_message_size = MESSAGE_LEN / 2;
    run = run_connection(ctx, url, &options, &callbacks, "newer max_message_size");
    check_too_big(&run, "newer max_message_size");
    options.current.max_message_size = 0;

    /* An added member set: something this library cannot do. Refused, nothing started. */
    char expected[64];
    snprintf(expected, sizeof expected, "byte %zu is set", sizeof(wsc_connect_options));
    options.added = 1;
    wsc_connection *conn = NULL;
    CHECK_RESULT(wsc_connect(ctx, url, (const wsc_connect_options *)&options,
                             (const wsc_callbacks *)&callbacks, NULL, &conn),
                 WSC_ERR_INVALID_ARGUMENT);
    check_message_has("newer wsc_connect_options, added set", "wsc_connect_options");
    check_message_has("newer wsc_connect_options, added set", expected);
    CHECK(conn == NULL);
    options.added = 0;

    snprintf(expected, sizeof expected, "byte %zu is set", sizeof(wsc_callbacks));
    callbacks.added = on_open;
    CHECK_RESULT(wsc_connect(ctx, url, (const wsc_connect_options *)&options,
                             (const wsc_callbacks *)&callbacks, NULL, &conn),
                 WSC_ERR_INVALID_ARGUMENT);
    check_message_has("newer wsc_callbacks, added set", "wsc_callbacks");
    check_message_has("newer wsc_callbacks, added set", expected);
    CHECK(conn == NULL);
    CHECK_INT(wsc_context_connection_count(ctx), 0);
    wsc_context_free(ctx);

    snprintf(expected, sizeof expected, "byte %zu is set", sizeof(wsc_context_options));
    context_options.added = 1;
    wsc_context *refused = NULL;
    CHECK_RESULT(wsc_context_new((const wsc_context_options *)&context_options, &refused),
                 WSC_ERR_INVALID_ARGUMENT);
    check_message_has("newer wsc_context_options, added set", "wsc_context_options");
    check_message_has("newer wsc_context_options, added set", expected);
    CHECK(refused == NULL);
}

static void uninitialised(const char *url) {
    wsc_context_options context_options = WSC_CONTEXT_OPTIONS_INIT;
    wsc_connect_options options = WSC_CONNECT_OPTIONS_INIT;
    wsc_callbacks callbacks = WSC_CALLBACKS_INIT;

    /* What the macros give: the struct's size, every other field zero. */
    CHECK_INT(context_options.struct_size, sizeof(wsc_context_options));
    CHECK_INT(context_options.read_buffer_size, 0);
    CHECK_INT(options.struct_size, sizeof(wsc_connect_options));
    CHECK(options.origin == NULL && options.max_message_size == 0 && !options.reconnect);
    CHECK_INT(callbacks.struct_size, sizeof(wsc_callbacks));
    CHECK(callbacks.on_open == NULL && callbacks.on_close == NULL);

    wsc_context *ctx = NULL;
    context_options.struct_size = 0;
    CHECK_RESULT(wsc_context_new(&context_options, &ctx), WSC_ERR_INVALID_ARGUMENT);
    CHECK(strcmp(wsc_last_error(), "struct_size is 0: initialise wsc_context_options with "
                                   "WSC_CONTEXT_OPTIONS_INIT") == 0);
    CHECK(ctx == NULL);
    context_options.struct_size = sizeof(size_t);
    CHECK_RESULT(wsc_context_new(&context_options, &ctx), WSC_ERR_INVALID_ARGUMENT);
    check_message_has("wsc_context_options of 8 bytes", "WSC_CONTEXT_OPTIONS_INIT");
    CHECK(ctx == NULL);

    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);
    wsc_connection *conn = NULL;
    options.struct_size = 0;
    CHECK_RESULT(wsc_connect(ctx, url, &options, &callbacks, NULL, &conn),
                 WSC_ERR_INVALID_ARGUMENT);
    CHECK(strcmp(wsc_last_error(), "struct_size is 0: initialise wsc_connect_options with "
                                   "WSC_CONNECT_OPTIONS_INIT") == 0);
    options.struct_size = offsetof(wsc_connect_options, max_frame_size);
    CHECK_RESULT(wsc_connect(ctx, url, &options, &callbacks, NULL, &conn),
                 WSC_ERR_INVALID_ARGUMENT);
    check_message_has("a truncated wsc_connect_options", "WSC_CONNECT_OPTIONS_INIT");
    options.struct_size = sizeof options;
    callbacks.struct_size = 0;
    CHECK_RESULT(wsc_connect(ctx, url, &options, &callbacks, NULL, &conn),
                 WSC_ERR_INVALID_ARGUMENT);
    CHECK(strcmp(wsc_last_error(),
                 "struct_size is 0: initialise wsc_callbacks with WSC_CALLBACKS_INIT") == 0);
    CHECK(conn == NULL);
    CHECK_INT(wsc_context_connection_count(ctx), 0);
    wsc_context_free(ctx);
}

int main(int argc, char **argv) {
    const char *url = wt_server_url(argc, argv);
    old_program(url);
    newer_program(url);
    uninitialised(url);
    return wt_finish("abi_layout");
}
