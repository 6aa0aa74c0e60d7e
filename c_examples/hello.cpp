// hello.cpp [URL]: the README example in C++17 with wsc.hpp; sends "hello", prints the echo.
#include <cstdio>
#include <string>

#include <wsc.hpp>

int main(int argc, char **argv) {
    int status = 1;
    try {
        wsc::Context ctx;
        wsc::Callbacks cb;
        cb.on_open = [](wsc::Connection &c) { c.send_text("hello"); };
        cb.on_message = [&](wsc::Connection &c, std::string_view data, bool) {
            std::printf("received: %.*s\n", static_cast<int>(data.size()), data.data());
            status = 0;
            c.close(WSC_CLOSE_NORMAL, "done");
        };
        cb.on_error = [](wsc::Connection &, wsc_result r, std::string_view message) {
            std::fprintf(stderr, "error: %s: %.*s\n", wsc_result_str(r), static_cast<int>(message.size()),
                         message.data());
        };
        auto conn = ctx.connect(argc > 1 ? argv[1] : "ws://127.0.0.1:9001/", std::move(cb));
        ctx.run();
    } catch (const std::exception &e) {  // wsc::Error, or what a callback threw
        std::fprintf(stderr, "error: %s\n", e.what());
    }
    return status;
}
