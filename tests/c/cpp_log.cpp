// The log from C++, against the echo server (URL: last argument): a ContextOptions log
// handler (a lambda holding state) gets its connections' lines up to its level, kept alive by
// the Context even once the options are gone; wsc::set_log_handler gets the lines of contexts
// without one and stops getting them once replaced by an empty function; a bad level throws.
#include "wsc_test.h"

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include <wsc.hpp>

using namespace std::chrono_literals;

struct Lines {
    std::mutex mutex;  // lines may come from several threads
    std::vector<std::pair<wsc_log_level, std::string>> lines;

    wsc::LogHandler handler() {
        return [this](wsc_log_level level, std::string_view line) {
            std::lock_guard<std::mutex> lock(mutex);
            lines.emplace_back(level, std::string(line));
        };
    }
    bool has(const std::string &part) {
        std::lock_guard<std::mutex> lock(mutex);
        for (auto &l : lines)
            if (l.second.find(part) != std::string::npos) return true;
        return false;
    }
    bool none_above(wsc_log_level max) {
        std::lock_guard<std::mutex> lock(mutex);
        for (auto &l : lines)
            if (l.first > max) return false;
        return true;
    }
    size_t size() {
        std::lock_guard<std::mutex> lock(mutex);
        return lines.size();
    }
};

static void open_and_close(wsc::Context &ctx, const std::string &server) {
    wsc::Callbacks cb;
    cb.on_open = [](wsc::Connection &c) { c.close(1000, "cpp"); };
    auto conn = ctx.connect(server, std::move(cb),
                            wsc::ConnectOptions().header("Authorization", "Bearer s3cret"));
    const double deadline = wt_now() + 10;
    while (ctx.connection_count() > 0 && wt_now() < deadline) ctx.service(50ms);
    CHECK_INT(ctx.connection_count(), 0);
}

int main(int argc, char **argv) {
    const std::string server = wt_server_url(argc, argv);
    try {
        Lines own, process;
        wsc::set_log_handler(process.handler(), WSC_LOG_DEBUG);
        {
            std::unique_ptr<wsc::Context> ctx;
            {
                wsc::ContextOptions options;
                options.log_handler(own.handler(), WSC_LOG_INFO);
                ctx = std::make_unique<wsc::Context>(options);
            }  // the options are gone: the Context keeps the handler
            open_and_close(*ctx, server);
        }
        CHECK(own.has("127.0.0.1] connected to 127.0.0.1:"));
        CHECK(own.has("] closed: code 1000 \"cpp\", by Application, clean"));
        CHECK(!own.has("> GET"));
        CHECK(own.none_above(WSC_LOG_INFO));
        CHECK_INT(process.size(), 0);

        wsc::Context plain;
        open_and_close(plain, server);
        CHECK(process.has("] > Authorization: [redacted]"));
        CHECK(!process.has("s3cret"));
        CHECK(process.none_above(WSC_LOG_DEBUG));

        wsc::set_log_handler(nullptr);
        const size_t before = process.size();
        open_and_close(plain, server);
        CHECK_INT(process.size(), before);

        bool threw = false;
        try {
            wsc::set_log_handler(process.handler(), static_cast<wsc_log_level>(7));
        } catch (const wsc::Error &e) {
            threw = e.code() == WSC_ERR_INVALID_ARGUMENT;
        }
        CHECK(threw);
    } catch (const std::exception &e) {
        FAIL("unexpected exception: %s", e.what());
    }
    return wt_finish("cpp_log");
}
