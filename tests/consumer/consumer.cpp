// The C++ consumer: connects to the echo server at argv[1] through wsc.hpp, sends one
// message, expects it back, closes. Exits 0 on success.
#include <cstdio>
#include <string>

#include <wsc.hpp>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    bool echoed = false, clean = false;
    wsc::Context ctx;
    wsc::Callbacks cb;
    cb.on_open = [](wsc::Connection &c) { c.send_text("from C++"); };
    cb.on_message = [&](wsc::Connection &c, std::string_view data, bool is_text) {
        echoed = is_text && data == "from C++";
        c.close();
    };
    cb.on_close = [&](wsc::Connection &, const wsc::CloseInfo &info) { clean = info.clean; };
    auto conn = ctx.connect(argv[1], std::move(cb));
    ctx.run();
    std::printf("C++ consumer: echoed=%d clean=%d (wsc %s)\n", echoed, clean, wsc_version());
    return echoed && clean ? 0 : 1;
}
