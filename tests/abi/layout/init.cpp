// The WSC_*_INIT macros in C++17 (include/wsc.h gives C++ a lambda, C a designated
// initialiser): as initialisers of locals, statics and members, in assignments, and accepted by
// the library. Run with the URL of tests/echo_server.py as last argument.
#include <cstdio>
#include <cstring>
#include <wsc.h>

static int failures = 0;
#define CHECK(expr)                                                                \
    do {                                                                           \
        if (!(expr)) {                                                             \
            failures++;                                                            \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s (wsc_last_error: %s)\n", \
                         __FILE__, __LINE__, #expr, wsc_last_error());             \
        }                                                                          \
    } while (0)

static const wsc_connect_options file_scope = WSC_CONNECT_OPTIONS_INIT;

struct Holder {
    wsc_callbacks callbacks = WSC_CALLBACKS_INIT;
};

static void close_on_open(wsc_connection *conn, void *) { wsc_close(conn, WSC_CLOSE_NORMAL, nullptr); }

static void count_close(wsc_connection *, uint16_t code, const char *, size_t, wsc_closed_by,
                        bool clean, void *user) {
    if (code == WSC_CLOSE_NORMAL && clean) ++*static_cast<int *>(user);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s ws://HOST:PORT\n", argv[0]);
        return 2;
    }
    const char *url = argv[argc - 1];

    CHECK(file_scope.struct_size == sizeof(wsc_connect_options));
    wsc_connect_options options = WSC_CONNECT_OPTIONS_INIT;
    CHECK(options.struct_size == sizeof options);
    CHECK(options.origin == nullptr && options.max_message_size == 0 && !options.reconnect);
    options.close_timeout_ms = 2000;
    options = WSC_CONNECT_OPTIONS_INIT;
    CHECK(options.close_timeout_ms == 0);
    wsc_context_options context_options = WSC_CONTEXT_OPTIONS_INIT;
    CHECK(context_options.struct_size == sizeof context_options);
    CHECK(context_options.read_buffer_size == 0);
    Holder holder;
    CHECK(holder.callbacks.struct_size == sizeof(wsc_callbacks));
    CHECK(holder.callbacks.on_open == nullptr && holder.callbacks.on_close == nullptr);

    // What value-initialisation alone gives is refused, with the fix.
    wsc_context *ctx = nullptr;
    wsc_context_options zeroed{};
    CHECK(wsc_context_new(&zeroed, &ctx) == WSC_ERR_INVALID_ARGUMENT);
    CHECK(std::strstr(wsc_last_error(), "WSC_CONTEXT_OPTIONS_INIT") != nullptr);

    context_options.read_buffer_size = 4096;
    CHECK(wsc_context_new(&context_options, &ctx) == WSC_OK);
    if (ctx == nullptr) return 1;
    holder.callbacks.on_open = close_on_open;
    holder.callbacks.on_close = count_close;
    int clean_closes = 0;
    CHECK(wsc_connect(ctx, url, &options, &holder.callbacks, &clean_closes, nullptr) == WSC_OK);
    for (int i = 0; i < 200 && wsc_context_connection_count(ctx) > 0; i++) wsc_service(ctx, 50);
    CHECK(clean_closes == 1);
    wsc_context_free(ctx);

    if (failures) {
        std::fprintf(stderr, "abi_init_cxx: FAILED (%d)\n", failures);
        return 1;
    }
    std::printf("abi_init_cxx: all checks passed\n");
    return 0;
}
