// Every callback of wsc::Callbacks fires, through the echo server (URL: last argument), and
// the Connection accessors read what the server answered:
// - on_open, where subprotocol() and header() give the server's choices (the server accepts
//   the first subprotocol offered and reflects X-Echo: the options reached it);
// - on_ping (GET /ping: the server pings first), on_pong (our send_ping echoed);
// - on_writable: with a 1 KiB send_buffer_limit, 512-byte binary sends are taken until
//   WSC_ERR_WOULD_BLOCK, and on_writable follows once the buffer has drained;
// - on_message for every echo, on_close with our code and reason, and on_error for a
//   refused connection with reconnect on, where retry_in() is set until a close() from inside
//   on_close ends the retries (one more, last on_close).
#include "wsc_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>

#include <wsc.hpp>

using namespace std::chrono_literals;

// Runs the loop (waits of at most 50 ms) until done() or `seconds` pass; false on timeout.
template <class Done> static bool service_until(wsc::Context &ctx, Done done, double seconds, const char *what) {
    const double deadline = wt_now() + seconds;
    while (!done()) {
        if (wt_now() > deadline) {
            FAIL("timed out after %.0f s waiting for %s", seconds, what);
            return false;
        }
        ctx.service(50ms);
    }
    return true;
}

static void every_callback(const std::string &server) {
    struct {
        int open = 0, ping = 0, pong = 0, writable = 0, binary = 0, text = 0, error = 0, close = 0;
    } seen;
    const std::string big(512, 'b');  // two of them overfill the 1 KiB send buffer
    int accepted = 0;  // binary messages the send buffer took
    bool blocked = false;

    wsc::Callbacks cb;
    cb.on_open = [&](wsc::Connection &c) {
        seen.open++;
        CHECK(c.subprotocol() == std::optional<std::string>("chat.v2"));
        CHECK(c.header("X-Echo") == std::optional<std::string>("reflected value"));
        CHECK(c.header("UPGRADE") == std::optional<std::string>("websocket"));  // any case
        CHECK(!c.header("X-Not-Sent"));
        CHECK_INT(c.retry_in_ms(), -1);
        CHECK(!c.retry_in());
        CHECK_RESULT(c.send_ping("are you there"), WSC_OK);
        while (accepted < 200) {
            wsc_result r = c.send_binary(big);
            if (r == WSC_ERR_WOULD_BLOCK) {
                blocked = true;
                break;
            }
            CHECK_RESULT(r, WSC_OK);
            if (r != WSC_OK) break;
            accepted++;
        }
        CHECK(blocked);
        CHECK(accepted >= 1);
        CHECK(c.buffered_amount() + big.size() > 1024);  // why it refused
    };
    cb.on_ping = [&](wsc::Connection &, std::string_view payload) {
        seen.ping++;
        CHECK(payload == "hello");
    };
    cb.on_pong = [&](wsc::Connection &, std::string_view payload) {
        seen.pong++;
        CHECK(payload == "are you there");
    };
    cb.on_writable = [&](wsc::Connection &c) {
        seen.writable++;
        CHECK(c.buffered_amount() <= 1024);
        // Sent after every binary message: its echo comes last.
        CHECK_RESULT(c.send_text("after writable"), WSC_OK);
    };
    cb.on_message = [&](wsc::Connection &c, std::string_view data, bool is_text) {
        if (!is_text) {
            seen.binary++;
            CHECK(data == big);
            return;
        }
        seen.text++;
        CHECK(data == "after writable");
        CHECK_INT(seen.binary, accepted);
        CHECK_RESULT(c.close(4000, std::string_view("done here")), WSC_OK);
    };
    cb.on_error = [&](wsc::Connection &, wsc_result r, std::string_view message) {
        seen.error++;
        FAIL("on_error %d: %.*s", static_cast<int>(r), static_cast<int>(message.size()), message.data());
    };
    cb.on_close = [&](wsc::Connection &c, const wsc::CloseInfo &info) {
        seen.close++;
        CHECK_INT(info.code, 4000);
        CHECK(info.reason == "done here");
        CHECK_INT(info.closed_by, WSC_CLOSED_BY_APPLICATION);
        CHECK(info.clean);
        CHECK(!c.retry_in());
    };

    wsc::Context ctx;
    auto options = wsc::ConnectOptions()
                       .subprotocol("chat.v2")
                       .subprotocol("chat")
                       .header("X-Echo", "reflected value")
                       .send_buffer_limit(1024);
    auto conn = ctx.connect(server + "/ping", std::move(cb), options);
    CHECK(conn.owned());
    CHECK(!conn.subprotocol());  // not open yet
    CHECK(!conn.header("Upgrade"));
    CHECK_INT(ctx.connection_count(), 1);
    service_until(ctx, [&] { return ctx.connection_count() == 0; }, 20, "the connection to close");

    CHECK_INT(seen.open, 1);
    CHECK_INT(seen.ping, 1);
    CHECK_INT(seen.pong, 1);
    CHECK_INT(seen.writable, 1);
    CHECK_INT(seen.binary, accepted);
    CHECK_INT(seen.text, 1);
    CHECK_INT(seen.error, 0);
    CHECK_INT(seen.close, 1);
    // The owned handle outlives the connection: calls fail, nothing crashes.
    CHECK_RESULT(conn.send_text("late"), WSC_ERR_NOT_OPEN);
}

// A loopback port that refuses connections: bound, never listening (kept bound meanwhile).
static int refusing_port(int *fd_out) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
    *fd_out = fd;
    return ntohs(addr.sin_port);
}

static void error_and_retry() {
    int fd = -1;
    const int port = refusing_port(&fd);
    int errors = 0, closes = 0;
    wsc::Callbacks cb;
    cb.on_open = [](wsc::Connection &) { FAIL("on_open for a refused connection"); };
    cb.on_error = [&](wsc::Connection &, wsc_result r, std::string_view message) {
        errors++;
        CHECK_RESULT(r, WSC_ERR_CONNECT_REFUSED);
        CHECK(!message.empty());
    };
    cb.on_close = [&](wsc::Connection &c, const wsc::CloseInfo &info) {
        closes++;
        CHECK_INT(info.code, WSC_CLOSE_ABNORMAL);
        CHECK(!info.clean);
        if (closes == 1) {
            // A retry is scheduled (in at most the 10 s asked for); closing now cancels it.
            CHECK_INT(info.closed_by, WSC_CLOSED_BY_FAILURE);
            CHECK(c.retry_in().has_value() && *c.retry_in() <= 10s);
            CHECK(c.retry_in_ms() >= 0);
            CHECK_RESULT(c.close(), WSC_OK);
        } else {
            CHECK_INT(info.closed_by, WSC_CLOSED_BY_APPLICATION);
            CHECK(!c.retry_in());
        }
    };
    wsc::Context ctx;
    auto conn = ctx.connect("ws://127.0.0.1:" + std::to_string(port) + "/", std::move(cb),
                            wsc::ConnectOptions().reconnect().reconnect_min_delay(10s));
    service_until(ctx, [&] { return ctx.connection_count() == 0; }, 20, "the retries to end");
    CHECK_INT(errors, 1);
    CHECK_INT(closes, 2);
    close(fd);
}

int main(int argc, char **argv) {
    const std::string server = wt_server_url(argc, argv);
    try {
        every_callback(server);
        error_and_retry();
    } catch (const std::exception &e) {
        FAIL("unexpected exception: %s", e.what());
    }
    return wt_finish("cpp_callbacks");
}
