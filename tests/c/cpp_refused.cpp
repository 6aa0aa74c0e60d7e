// A refused handshake through wsc.hpp, with reconnect: the server (a loopback socket served
// from this program's own loop; the echo server's URL is ignored) answers every request 401
// with a WWW-Authenticate header and a body. Inside on_error: status(), header() and
// response_body() describe the refusal and retry_in() is set (reconnect_on_client_error);
// on_reconnect adds a header to the retry (the server sees it); the retry, the last
// (reconnect_max_attempts 1), reports no further retry.
#include "wsc_test.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <wsc.hpp>

using namespace std::chrono_literals;

static const char RESPONSE[] =
    "HTTP/1.1 401 Unauthorized\r\n"
    "WWW-Authenticate: Bearer\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "token expired";

// Accepts connections and answers each request's header with RESPONSE.
struct Server {
    int listener = -1;
    int port = 0;
    int peer = -1;
    std::string request;
    std::vector<std::string> requests;

    Server() {
        listener = socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(listener >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(bind(listener, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
        REQUIRE(listen(listener, 4) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(getsockname(listener, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
        port = ntohs(addr.sin_port);
        REQUIRE(fcntl(listener, F_SETFL, O_NONBLOCK) == 0);
    }
    ~Server() {
        if (peer >= 0) close(peer);
        close(listener);
    }
    void poll() {
        if (peer < 0) {
            peer = accept(listener, nullptr, nullptr);
            if (peer >= 0) REQUIRE(fcntl(peer, F_SETFL, O_NONBLOCK) == 0);
            request.clear();
            return;
        }
        char buf[1024];
        ssize_t n = read(peer, buf, sizeof buf);
        if (n > 0) request.append(buf, static_cast<size_t>(n));
        if (request.find("\r\n\r\n") != std::string::npos) {
            REQUIRE(write(peer, RESPONSE, sizeof RESPONSE - 1) == static_cast<ssize_t>(sizeof RESPONSE - 1));
            requests.push_back(request);
            close(peer);
            peer = -1;
        }
    }
};

int main(int, char **) {
    Server server;
    wsc::Context ctx;
    struct Seen {
        uint16_t status;
        std::optional<std::string> auth, body;
        int64_t retry_ms;
    };
    std::vector<Seen> errors;
    std::vector<uint32_t> reconnects;
    int closes = 0;
    std::string message;

    wsc::Callbacks cb;
    cb.on_error = [&](wsc::Connection &c, wsc_result r, std::string_view m) {
        CHECK_INT(r, WSC_ERR_HANDSHAKE_STATUS);
        message = std::string(m);
        errors.push_back({c.status(), c.header("www-authenticate"), c.response_body(), c.retry_in_ms()});
        const auto fields = c.headers();
        CHECK(fields.size() == 2);
        CHECK(!fields.empty() && fields[0] == std::make_pair(std::string("WWW-Authenticate"), std::string("Bearer")));
    };
    cb.on_reconnect = [&](wsc::Connection &c, uint32_t attempt) {
        reconnects.push_back(attempt);
        c.set_header("X-Token", "fresh");
        bool threw = false;
        try {
            c.set_header("bad name", std::nullopt);
        } catch (const wsc::Error &e) {
            threw = e.code() == WSC_ERR_INVALID_ARGUMENT;
        }
        CHECK(threw);
    };
    cb.on_close = [&](wsc::Connection &c, const wsc::CloseInfo &) {
        closes++;
        CHECK_INT(c.status(), 401);
    };
    auto options = wsc::ConnectOptions()
                       .reconnect()
                       .reconnect_min_delay(10ms)
                       .reconnect_max_attempts(1)
                       .reconnect_on_client_error();
    const std::string url = "ws://127.0.0.1:" + std::to_string(server.port) + "/";
    auto conn = ctx.connect(url, std::move(cb), options);
    CHECK_INT(conn.status(), 0);
    const double deadline = wt_now() + 10;
    while (ctx.connection_count() > 0 && wt_now() < deadline) {
        ctx.service(10ms);
        server.poll();
    }
    CHECK_INT(ctx.connection_count(), 0);

    REQUIRE(errors.size() == 2);
    for (const Seen &e : errors) {
        CHECK_INT(e.status, 401);
        CHECK(e.auth == std::optional<std::string>("Bearer"));
        CHECK(e.body == std::optional<std::string>("token expired"));
    }
    CHECK(errors[0].retry_ms >= 0);  // decided before on_error
    CHECK_INT(errors[1].retry_ms, -1);
    CHECK(reconnects == std::vector<uint32_t>{1});
    CHECK_INT(closes, 2);
    CHECK(message == "server answered 401 Unauthorized, not 101 Switching Protocols: token expired");
    REQUIRE(server.requests.size() == 2);
    CHECK(server.requests[0].find("X-Token") == std::string::npos);
    CHECK(server.requests[1].find("X-Token: fresh\r\n") != std::string::npos);
    return wt_finish("cpp_refused");
}
