// The C++ wrapper's streamed receive and flow control, against the echo server (URL: last
// argument): a 1 MiB message comes back through on_message_part in parts that add up to it,
// first and last flagged; request_writable() is answered by on_writable; pause_reading() and
// resume_reading() succeed; abort() ends the connection with 1006, closed by the application.
#include "wsc_test.h"

#include <chrono>
#include <string>

#include <wsc.hpp>

using namespace std::chrono_literals;

int main(int argc, char **argv) {
    const char *url = wt_server_url(argc, argv);
    const std::string sent(1u << 20, 'w');
    std::string received;
    int parts = 0, firsts = 0, lasts = 0, writables = 0, messages = 0;
    bool done = false, closed = false;
    wsc::CloseInfo last_close{};

    wsc::Context ctx;
    wsc::Callbacks cb;
    cb.on_open = [&](wsc::Connection &c) {
        CHECK(c.request_writable() == WSC_OK);
        CHECK(c.send_binary(sent.data(), sent.size()) == WSC_OK);
    };
    cb.on_message = [&](wsc::Connection &, std::string_view, bool) { messages++; };
    cb.on_message_part = [&](wsc::Connection &c, const wsc::MessagePart &part) {
        parts++;
        firsts += part.first;
        lasts += part.last;
        CHECK(!part.is_text);
        received.append(part.data);
        if (parts == 1) {
            CHECK(c.pause_reading() == WSC_OK);
            CHECK(c.resume_reading() == WSC_OK);
        }
        if (part.last) done = true;
    };
    cb.on_writable = [&](wsc::Connection &) { writables++; };
    cb.on_close = [&](wsc::Connection &, const wsc::CloseInfo &info) {
        closed = true;
        last_close = info;
    };
    auto conn = ctx.connect(url, std::move(cb), wsc::ConnectOptions().stream_messages().deflate_disable());
    const double deadline = wt_now() + 30;
    while (!done && !closed && wt_now() < deadline) ctx.service(50ms);
    CHECK(done);
    CHECK_INT(messages, 0);
    CHECK(parts >= 1);
    CHECK_INT(firsts, 1);
    CHECK_INT(lasts, 1);
    CHECK(writables >= 1);
    CHECK(received == sent);

    CHECK(conn.abort() == WSC_OK);
    while (!closed && wt_now() < deadline) ctx.service(50ms);
    CHECK(closed);
    CHECK_INT(last_close.code, 1006);
    CHECK(last_close.closed_by == WSC_CLOSED_BY_APPLICATION);
    CHECK(!last_close.clean);
    return wt_finish("cpp_stream");
}
