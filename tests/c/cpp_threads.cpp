// wsc::Context and wsc::Connection across threads, through the echo server (URL: last
// argument): wake() from another thread makes a service() blocked without a timeout return
// (a 10 s guard timer would end it otherwise, and is checked not to have fired); another
// thread sends on the owned Connection and reads connection_count() and buffered_amount()
// while the loop runs; and a poll() loop on fd() and next_timeout_ms() drives a connection
// with service(0ms), as a foreign event loop does.
#include "wsc_test.h"

#include <poll.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <wsc.hpp>

using namespace std::chrono_literals;

static void wake_from_another_thread() {
    wsc::Context ctx;
    bool guard_fired = false;
    auto guard = ctx.start_timer(10s, 0ms, [&] { guard_fired = true; });
    for (int round = 0; round < 3; round++) {
        std::atomic<bool> woken{false};
        std::thread waker([&] {
            std::this_thread::sleep_for(20ms);  // most likely blocked in service() by now
            woken = true;
            ctx.wake();
        });
        ctx.run_until([&] { return woken.load() || guard_fired; });
        waker.join();
        CHECK(!guard_fired);
    }
}

static void send_from_another_thread(const std::string &server) {
    wsc::Context ctx;
    std::atomic<bool> open{false};
    int echoes = 0;
    bool clean = false;
    wsc::Callbacks cb;
    cb.on_open = [&](wsc::Connection &) { open = true; };
    cb.on_message = [&](wsc::Connection &c, std::string_view data, bool is_text) {
        CHECK(is_text && data == "message " + std::to_string(echoes));
        if (++echoes == 20) c.close();
    };
    cb.on_close = [&](wsc::Connection &, const wsc::CloseInfo &info) { clean = info.clean; };
    auto conn = ctx.connect(server, std::move(cb));

    std::thread sender([&] {
        const double deadline = wt_now() + 10;
        while (!open && wt_now() < deadline) std::this_thread::sleep_for(1ms);
        CHECK(open.load());
        CHECK_INT(ctx.connection_count(), 1);
        for (int i = 0; i < 20; i++) CHECK_RESULT(conn.send_text("message " + std::to_string(i)), WSC_OK);
        (void)conn.buffered_amount();  // safe from here while the loop writes
    });
    const double deadline = wt_now() + 20;
    while (ctx.connection_count() > 0 && wt_now() < deadline) ctx.service(50ms);
    sender.join();
    CHECK_INT(echoes, 20);
    CHECK(clean);
    CHECK_INT(ctx.connection_count(), 0);
}

static void foreign_loop(const std::string &server) {
    wsc::Context ctx;
    REQUIRE(ctx.fd() >= 0);
    bool echoed = false;
    wsc::Callbacks cb;
    cb.on_open = [](wsc::Connection &c) { CHECK_RESULT(c.send_binary(std::string("polled")), WSC_OK); };
    cb.on_message = [&](wsc::Connection &c, std::string_view data, bool is_text) {
        echoed = !is_text && data == "polled";
        c.close();
    };
    auto conn = ctx.connect(server, std::move(cb));
    const double deadline = wt_now() + 20;
    int polls = 0;
    while (ctx.connection_count() > 0 && wt_now() < deadline) {
        pollfd p{ctx.fd(), POLLIN, 0};
        int wait = ctx.next_timeout_ms();
        if (wait < 0 || wait > 100) wait = 100;  // the deadline above must be seen
        REQUIRE(poll(&p, 1, wait) >= 0);
        ctx.service(0ms);
        polls++;
    }
    CHECK(echoed);
    CHECK_INT(ctx.connection_count(), 0);
    CHECK(polls > 0);
}

int main(int argc, char **argv) {
    const std::string server = wt_server_url(argc, argv);
    try {
        wake_from_another_thread();
        send_from_another_thread(server);
        foreign_loop(server);
    } catch (const std::exception &e) {
        FAIL("unexpected exception: %s", e.what());
    }
    return wt_finish("cpp_threads");
}
