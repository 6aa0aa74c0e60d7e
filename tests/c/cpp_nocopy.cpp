// The C++ wrapper's lending sends through the echo server (URL: last argument): a shared
// buffer lent to two messages comes back twice, and wsc lets go of both references once they
// are written (the echo proves it); a refused send keeps nothing.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <wsc.hpp>

#include "wsc_test.h"

int main(int argc, char **argv) {
    const char *server = wt_server_url(argc, argv);
    auto text = std::make_shared<const std::string>(100000, 'x');
    auto binary = std::make_shared<const std::vector<uint8_t>>(70000, uint8_t{7});
    int received = 0;
    long text_refs_at_echo = -1;
    {
        wsc::Context ctx;
        wsc::Callbacks cb;
        cb.on_open = [&](wsc::Connection &c) {
            CHECK_RESULT(c.send_text_nocopy(text), WSC_OK);
            CHECK_RESULT(c.send_text_nocopy(text), WSC_OK);
            CHECK_RESULT(c.send_binary_nocopy(binary), WSC_OK);
            CHECK_INT(text.use_count(), 3);  // ours and two lent
        };
        cb.on_message = [&](wsc::Connection &c, std::string_view data, bool is_text) {
            received++;
            if (received <= 2) {
                CHECK(is_text && data == *text);
            } else {
                CHECK(!is_text && data.size() == binary->size() &&
                      std::memcmp(data.data(), binary->data(), data.size()) == 0);
                text_refs_at_echo = text.use_count();
                c.close();
            }
        };
        cb.on_error = [](wsc::Connection &, wsc_result r, std::string_view message) {
            FAIL("on_error %d: %.*s", static_cast<int>(r), static_cast<int>(message.size()),
                 message.data());
        };
        auto conn = ctx.connect(server, std::move(cb));
        CHECK_RESULT(conn.send_binary_nocopy(binary), WSC_ERR_NOT_OPEN);
        CHECK_INT(binary.use_count(), 1);
        ctx.run();
    }
    CHECK_INT(received, 3);
    CHECK_INT(text_refs_at_echo, 1);
    CHECK_INT(binary.use_count(), 1);
    return wt_finish("cpp_nocopy");
}
