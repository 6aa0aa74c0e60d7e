// wsc::Timer from Context::start_timer: a one-shot timer fires once, a periodic one until
// stop() (from its own callback, or from another thread), a Timer destroyed or stopped
// before its time never fires, release() lets a timer run on with the Context, a timer
// started from another thread fires, an exception from a timer callback comes out of
// service() and the timer keeps ticking, and a Timer outliving its Context is harmless.
// The sanitizer build checks that every callback is freed. No echo server needed.
//
// "Never fires again" is checked with a marker: a one-shot timer due after the timer under
// test would have fired again; once the marker has fired, the count must not have moved.
#include "wsc_test.h"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include <wsc.hpp>

using namespace std::chrono_literals;

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

// Runs the loop until a one-shot timer due `after` from now has fired.
static void run_past(wsc::Context &ctx, std::chrono::milliseconds after) {
    bool fired = false;
    auto marker = ctx.start_timer(after, 0ms, [&] { fired = true; });
    service_until(ctx, [&] { return fired; }, 10, "the marker timer");
}

static void one_shot(wsc::Context &ctx) {
    int fired = 0;
    auto t = ctx.start_timer(5ms, 0ms, [&] { fired++; });
    CHECK(t && t.id() != 0);
    service_until(ctx, [&] { return fired == 1; }, 10, "a one-shot timer");
    run_past(ctx, 30ms);
    CHECK_INT(fired, 1);
    CHECK(!t.stop());  // it had fired once and for all
    CHECK(!t);
}

static void periodic_stopped_from_its_callback(wsc::Context &ctx) {
    int ticks = 0;
    bool stopped = false;
    wsc::Timer t;
    t = ctx.start_timer(1ms, 1ms, [&] {
        if (++ticks == 3) {
            stopped = t.stop();
            CHECK(!t.stop());  // already stopped
        }
    });
    service_until(ctx, [&] { return ticks >= 3; }, 10, "three ticks");
    run_past(ctx, 20ms);
    CHECK(stopped);
    CHECK_INT(ticks, 3);
}

static void stopped_before_its_time(wsc::Context &ctx) {
    int never = 0;
    {
        auto t = ctx.start_timer(10ms, 0ms, [&] { never++; });
        CHECK(t.stop());
        CHECK(!t.stop());
        auto destroyed = ctx.start_timer(10ms, 5ms, [&] { never++; });  // stopped by ~Timer
        auto moved_over = ctx.start_timer(10ms, 0ms, [&] { never++; });
        moved_over = ctx.start_timer(10ms, 0ms, [&] { never++; });  // the first one stops
        CHECK(moved_over.stop());
    }
    run_past(ctx, 40ms);
    CHECK_INT(never, 0);
}

static void released(wsc::Context &ctx) {
    static int once = 0, ticks = 0;  // the periodic one ticks on after this returns
    const uint64_t id = ctx.start_timer(1ms, 0ms, [&] { once++; }).release();
    CHECK(id != 0);
    // A periodic timer left running: it ends with the Context (the sanitizer checks its
    // callback is freed then).
    CHECK(ctx.start_timer(1ms, 1ms, [&] { ticks++; }).release() != 0);
    service_until(ctx, [&] { return once == 1 && ticks >= 3; }, 10, "released timers");
    CHECK(wsc_timer_stop(ctx.get(), id) == WSC_ERR_NOT_FOUND);  // the one-shot is done
}

static void other_threads(wsc::Context &ctx) {
    std::atomic<int> fired{0};
    wsc::Timer from_thread;
    std::thread([&] { from_thread = ctx.start_timer(1ms, 0ms, [&] { fired++; }); }).join();
    service_until(ctx, [&] { return fired.load() == 1; }, 10, "a timer started from another thread");

    int ticks = 0;
    auto periodic = ctx.start_timer(1ms, 1ms, [&] { ticks++; });
    service_until(ctx, [&] { return ticks >= 2; }, 10, "two ticks");
    bool stopped = false;
    std::thread([&] { stopped = periodic.stop(); }).join();
    CHECK(stopped);
    const int at_stop = ticks;
    run_past(ctx, 20ms);
    CHECK_INT(ticks, at_stop);
}

static void exception_from_a_timer(wsc::Context &ctx) {
    int ticks = 0;
    auto t = ctx.start_timer(1ms, 1ms, [&] {
        if (++ticks == 1) throw std::runtime_error("from a timer");
    });
    bool caught = false;
    try {
        service_until(ctx, [&] { return ticks >= 1; }, 10, "the throwing tick");
        // The tick ran in the last service(), which rethrew: not reached.
        FAIL("service() returned after the timer threw");
    } catch (const std::runtime_error &e) {
        caught = std::string(e.what()) == "from a timer";
    }
    CHECK(caught);
    CHECK_INT(ticks, 1);
    // The timer runs on; later ticks do not throw.
    service_until(ctx, [&] { return ticks >= 3; }, 10, "ticks after the exception");
    CHECK(t.stop());
}

static void outliving_the_context() {
    wsc::Timer late;
    int fired = 0;
    {
        wsc::Context ctx;
        CHECK(!ctx.next_timeout());  // nothing scheduled
        late = ctx.start_timer(std::chrono::hours(1), 0ms, [&] { fired++; });
        auto next = ctx.next_timeout();
        CHECK(next.has_value() && *next <= std::chrono::hours(1));
        CHECK(ctx.next_timeout_ms() >= 0);
    }
    CHECK(!late.stop());  // the Context (and the timer) are gone
    CHECK_INT(fired, 0);

    wsc::Context empty = wsc::Context();
    wsc::Context taken = std::move(empty);
    bool threw = false;
    try {
        auto t = empty.start_timer(1ms, 0ms, [] {});
    } catch (const wsc::Error &e) {
        threw = e.code() == WSC_ERR_NULL_ARGUMENT;
    }
    CHECK(threw);
    threw = false;
    try {
        auto t = taken.start_timer(1ms, 0ms, std::function<void()>());
    } catch (const wsc::Error &e) {
        threw = e.code() == WSC_ERR_NULL_ARGUMENT;
    }
    CHECK(threw);
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    try {
        wsc::Context ctx;
        one_shot(ctx);
        periodic_stopped_from_its_callback(ctx);
        stopped_before_its_time(ctx);
        released(ctx);
        other_threads(ctx);
        exception_from_a_timer(ctx);
        outliving_the_context();
    } catch (const std::exception &e) {
        FAIL("unexpected exception: %s", e.what());
    }
    return wt_finish("cpp_timers");
}
