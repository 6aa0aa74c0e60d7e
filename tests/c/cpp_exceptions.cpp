// Exceptions thrown by callbacks never reach the C library: each is kept and rethrown, with
// its own type, by the Context::run()/service() call that ran the callback, and the
// connection stays open. Through the echo server (URL: last argument):
// - on_message throws: run() rethrows; the connection still echoes; run() again finishes;
// - on_open throws after sending: the echo still arrives;
// - two callbacks throw in one service() call: the first is rethrown, the second dropped;
// - service() called from a callback throws wsc::Error (WSC_ERR_BUSY) there, which comes out
//   of the outer service();
// - on_close throws: run() rethrows, and the connection's callbacks are freed all the same
//   (the sanitizer build checks for leaks); while the Context is destroyed, such an
//   exception is dropped.
#include "wsc_test.h"

#include <chrono>
#include <stdexcept>
#include <string>

#include <wsc.hpp>

using namespace std::chrono_literals;

struct Boom {
    int n;
};

static void from_on_message(const std::string &server) {
    wsc::Context ctx;
    int messages = 0;
    bool clean = false;
    wsc::Callbacks cb;
    cb.on_open = [](wsc::Connection &c) { CHECK_RESULT(c.send_text("first"), WSC_OK); };
    cb.on_message = [&](wsc::Connection &c, std::string_view data, bool) {
        if (++messages == 1) {
            CHECK(data == "first");
            throw Boom{1};
        }
        CHECK(data == "second");
        c.close();
    };
    cb.on_close = [&](wsc::Connection &, const wsc::CloseInfo &info) { clean = info.clean; };
    auto conn = ctx.connect(server, std::move(cb));
    int caught = 0;
    try {
        ctx.run();
        FAIL("run() returned without rethrowing");
    } catch (const Boom &b) {
        caught = b.n;
    }
    CHECK_INT(caught, 1);
    CHECK_INT(messages, 1);
    // The connection is still open and working.
    CHECK_INT(ctx.connection_count(), 1);
    CHECK_RESULT(conn.send_text("second"), WSC_OK);
    ctx.run();
    CHECK_INT(messages, 2);
    CHECK(clean);
}

static void from_on_open(const std::string &server) {
    wsc::Context ctx;
    bool echoed = false;
    wsc::Callbacks cb;
    cb.on_open = [](wsc::Connection &c) {
        CHECK_RESULT(c.send_text("sent before the throw"), WSC_OK);
        throw std::logic_error("open");
    };
    cb.on_message = [&](wsc::Connection &c, std::string_view data, bool) {
        echoed = data == "sent before the throw";
        c.close();
    };
    auto conn = ctx.connect(server, std::move(cb));
    bool caught = false;
    try {
        ctx.run();
    } catch (const std::logic_error &e) {
        caught = std::string(e.what()) == "open";
    }
    CHECK(caught);
    ctx.run();
    CHECK(echoed);
}

static void first_of_two() {
    wsc::Context ctx;
    // Two timers due at once run in the same service() call.
    auto a = ctx.start_timer(0ms, 0ms, [] { throw Boom{1}; });
    auto b = ctx.start_timer(0ms, 0ms, [] { throw Boom{2}; });
    int caught = 0;
    const double deadline = wt_now() + 10;
    while (caught == 0 && wt_now() < deadline) {
        try {
            ctx.service(50ms);
        } catch (const Boom &boom) {
            caught = boom.n;
        }
    }
    CHECK_INT(caught, 1);
    // The second exception was dropped: nothing more comes out.
    try {
        ctx.service(0ms);
        ctx.service(20ms);
    } catch (const Boom &boom) {
        FAIL("a second exception came out: Boom{%d}", boom.n);
    }
}

static void service_from_a_callback(const std::string &server) {
    wsc::Context ctx;
    wsc::Callbacks cb;
    cb.on_open = [&](wsc::Connection &c) {
        c.close();
        ctx.service(0ms);  // throws wsc::Error: the loop is running
    };
    auto conn = ctx.connect(server, std::move(cb));
    wsc_result code = WSC_OK;
    try {
        ctx.run();
    } catch (const wsc::Error &e) {
        code = e.code();
    }
    CHECK_RESULT(code, WSC_ERR_BUSY);
    ctx.run();
    CHECK_INT(ctx.connection_count(), 0);
}

static void from_on_close(const std::string &server) {
    wsc::Context ctx;
    wsc::Callbacks cb;
    cb.on_open = [](wsc::Connection &c) { c.close(); };
    cb.on_close = [](wsc::Connection &, const wsc::CloseInfo &) { throw Boom{3}; };
    auto conn = ctx.connect(server, std::move(cb));
    int caught = 0;
    try {
        ctx.run();
    } catch (const Boom &b) {
        caught = b.n;
    }
    CHECK_INT(caught, 3);
    CHECK_INT(ctx.connection_count(), 0);
    ctx.run();  // returns at once: nothing left
}

static void from_on_close_in_destruction(const std::string &server) {
    int closes = 0;
    {
        wsc::Context ctx;
        wsc::Callbacks cb;
        cb.on_close = [&](wsc::Connection &, const wsc::CloseInfo &info) {
            closes++;
            CHECK_INT(info.code, WSC_CLOSE_ABNORMAL);
            throw Boom{4};
        };
        ctx.connect(server, cb);
        ctx.connect(server, std::move(cb));
    }  // both on_close run here, and both exceptions are dropped
    CHECK_INT(closes, 2);
}

int main(int argc, char **argv) {
    const std::string server = wt_server_url(argc, argv);
    try {
        from_on_message(server);
        from_on_open(server);
        first_of_two();
        service_from_a_callback(server);
        from_on_close(server);
        from_on_close_in_destruction(server);
    } catch (const std::exception &e) {
        FAIL("unexpected exception: %s", e.what());
    } catch (const Boom &b) {
        FAIL("unexpected Boom{%d}", b.n);
    }
    return wt_finish("cpp_exceptions");
}
