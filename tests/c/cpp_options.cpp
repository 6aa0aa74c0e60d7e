// wsc::ConnectOptions and wsc::ContextOptions build the C structs field by field, with the
// strings and arrays kept alive by the options object; errors from the C API become
// wsc::Error with the result and wsc_last_error's text; an empty Connection fails cleanly.
// Against the echo server (URL: last argument): options built here reach the server (the
// subprotocol it picked and the header it reflects), and a small read buffer still carries
// a large message.
#include "wsc_test.h"

#include <chrono>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <wsc.hpp>

using namespace std::chrono_literals;

static bool same(const char *a, const char *b) { return a && b && std::strcmp(a, b) == 0; }

static void every_field() {
    wsc::DeflateOffer first{};
    first.client_no_context_takeover = true;
    first.client_max_window_bits = 12;
    wsc::DeflateOffer second{};
    second.server_no_context_takeover = true;
    second.server_max_window_bits = 9;
    const std::string pem = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n";

    wsc::ConnectOptions o;
    o.origin("https://example.com")
        .subprotocol("one")
        .subprotocol("two")
        .header("Authorization", "Bearer token")
        .header("X-Second", "2")
        .connect_timeout(3s)
        .handshake_timeout(1500ms)
        .close_timeout(250ms)
        .max_frame_size(uint64_t{1} << 33)
        .max_message_size(uint64_t{1} << 34)
        .max_fragments(17)
        .max_handshake_headers(18)
        .max_handshake_size(19000)
        .send_buffer_limit(20000)
        .deflate_disable()
        .deflate_level(7)
        .deflate_offer(first)
        .deflate_offer(second)
        .tls_ca_file("/etc/ca.pem")
        .tls_ca_pem(pem)
        .keepalive_interval(21s)
        .keepalive_timeout(22s)
        .proxy_url("http://user:pw@proxy:3128")
        .proxy_disable()
        .max_redirects(23)
        .reconnect()
        .reconnect_min_delay(24ms)
        .reconnect_max_delay(25s)
        .reconnect_max_attempts(26)
        .tls_insecure_skip_verification()
        .trust_outgoing_text()
        .connect_to("[::1]:9001")
        .local_address("192.0.2.7")
        .interface("eth1");

    auto native = o.native();
    const wsc_connect_options *c = native.get();
    CHECK(same(c->origin, "https://example.com"));
    REQUIRE(c->subprotocol_count == 2 && c->subprotocols);
    CHECK(same(c->subprotocols[0], "one") && same(c->subprotocols[1], "two"));
    REQUIRE(c->header_count == 2 && c->headers);
    CHECK(same(c->headers[0].name, "Authorization") && same(c->headers[0].value, "Bearer token"));
    CHECK(same(c->headers[1].name, "X-Second") && same(c->headers[1].value, "2"));
    CHECK_INT(c->connect_timeout_ms, 3000);
    CHECK_INT(c->handshake_timeout_ms, 1500);
    CHECK_INT(c->close_timeout_ms, 250);
    CHECK(c->max_frame_size == uint64_t{1} << 33);
    CHECK(c->max_message_size == uint64_t{1} << 34);
    CHECK_INT(c->max_fragments, 17);
    CHECK_INT(c->max_handshake_headers, 18);
    CHECK_INT(c->max_handshake_size, 19000);
    CHECK_INT(c->send_buffer_limit, 20000);
    CHECK(c->deflate_disable);
    CHECK_INT(c->deflate_level, 7);
    REQUIRE(c->deflate_offer_count == 2 && c->deflate_offers);
    CHECK(c->deflate_offers[0].client_no_context_takeover && c->deflate_offers[0].client_max_window_bits == 12);
    CHECK(c->deflate_offers[1].server_no_context_takeover && c->deflate_offers[1].server_max_window_bits == 9);
    CHECK(same(c->tls_ca_file, "/etc/ca.pem"));
    CHECK(c->tls_ca_pem_len == pem.size() && c->tls_ca_pem &&
          std::memcmp(c->tls_ca_pem, pem.data(), pem.size()) == 0);
    CHECK_INT(c->keepalive_interval_ms, 21000);
    CHECK_INT(c->keepalive_timeout_ms, 22000);
    CHECK(same(c->proxy_url, "http://user:pw@proxy:3128"));
    CHECK(c->proxy_disable);
    CHECK_INT(c->max_redirects, 23);
    CHECK(c->reconnect);
    CHECK_INT(c->reconnect_min_delay_ms, 24);
    CHECK_INT(c->reconnect_max_delay_ms, 25000);
    CHECK_INT(c->reconnect_max_attempts, 26);
    CHECK(c->tls_insecure_skip_verification);
    CHECK(c->trust_outgoing_text);
    CHECK(same(c->connect_to, "[::1]:9001"));
    CHECK(same(c->local_address, "192.0.2.7"));
    CHECK(same(c->interface, "eth1"));

    // Moving the built struct keeps its arrays where they were.
    auto moved = std::move(native);
    CHECK(moved.get()->subprotocols == c->subprotocols);
    CHECK(same(moved.get()->subprotocols[1], "two"));
    // A copy of the options builds from its own strings.
    const wsc::ConnectOptions copy = o;
    auto copied = copy.native();
    CHECK(copied.get()->headers[0].name != moved.get()->headers[0].name);
    CHECK(same(copied.get()->headers[0].name, "Authorization"));
    // Replacing a list.
    o.subprotocols({"three"}).headers({{"X-Only", "1"}}).deflate_offers({});
    auto replaced = o.native();
    CHECK(replaced.get()->subprotocol_count == 1 && same(replaced.get()->subprotocols[0], "three"));
    CHECK(replaced.get()->header_count == 1 && same(replaced.get()->headers[0].name, "X-Only"));
    CHECK(replaced.get()->deflate_offer_count == 0 && replaced.get()->deflate_offers == nullptr);
}

static void defaults_and_limits() {
    const wsc::ConnectOptions none;
    auto n = none.native();
    const wsc_connect_options *c = n.get();
    CHECK(c->origin == nullptr && c->subprotocols == nullptr && c->subprotocol_count == 0);
    CHECK(c->headers == nullptr && c->header_count == 0);
    CHECK(c->deflate_offers == nullptr && c->deflate_offer_count == 0);
    CHECK(c->tls_ca_file == nullptr && c->tls_ca_pem == nullptr && c->tls_ca_pem_len == 0);
    CHECK(c->proxy_url == nullptr && !c->proxy_disable && !c->reconnect && !c->deflate_disable);
    CHECK_INT(c->connect_timeout_ms, 0);
    CHECK_INT(c->send_buffer_limit, 0);
    CHECK(!c->trust_outgoing_text && !c->tls_insecure_skip_verification);
    CHECK(c->connect_to == nullptr && c->local_address == nullptr && c->interface == nullptr);

    // Durations out of range: negative is the default (0), too long the largest value.
    wsc::ConnectOptions o;
    o.connect_timeout(-5ms).close_timeout(std::chrono::hours(24 * 365 * 200));
    auto built = o.native();
    CHECK_INT(built.get()->connect_timeout_ms, 0);
    CHECK(built.get()->close_timeout_ms == std::numeric_limits<uint32_t>::max());

    // raw(): a field set on the C struct goes through; a setter wins over a raw pointer.
    static const char *const raw_protocols[] = {"raw"};
    o.raw().max_redirects = 5;
    o.raw().subprotocols = raw_protocols;
    o.raw().subprotocol_count = 1;
    auto raw = o.native();
    CHECK_INT(raw.get()->max_redirects, 5);
    CHECK(raw.get()->subprotocols == raw_protocols);
    o.subprotocol("set");
    auto set = o.native();
    CHECK(set.get()->subprotocol_count == 1 && same(set.get()->subprotocols[0], "set"));

    wsc::ContextOptions context;
    CHECK_INT(context.native().read_buffer_size, 0);
    CHECK_INT(context.read_buffer_size(8192).native().read_buffer_size, 8192);
    CHECK_INT(context.raw().read_buffer_size, 8192);
}

// The TLS setters reach the C struct; unset, its fields stay NULL and false.
static void tls_fields() {
    const std::string cert = "-----BEGIN CERTIFICATE-----\n";
    const std::string key = "-----BEGIN PRIVATE KEY-----\n";
    wsc::ConnectOptions o;
    o.tls_client_cert_pem(cert)
        .tls_client_key_pem(key)
        .tls_server_name("service.test")
        .tls_ca_add_to_system()
        .tls_allow_self_signed()
        .tls_skip_hostname_verification()
        .tls_allow_expired()
        .tls_key_log();
    auto native = o.native();
    const wsc_connect_options *c = native.get();
    CHECK(c->tls_client_cert_pem_len == cert.size() &&
          std::memcmp(c->tls_client_cert_pem, cert.data(), cert.size()) == 0);
    CHECK(c->tls_client_key_pem_len == key.size() &&
          std::memcmp(c->tls_client_key_pem, key.data(), key.size()) == 0);
    CHECK(c->tls_client_cert_file == nullptr && c->tls_client_key_file == nullptr);
    CHECK(same(c->tls_server_name, "service.test"));
    CHECK(c->tls_ca_add_to_system && c->tls_allow_self_signed);
    CHECK(c->tls_skip_hostname_verification && c->tls_allow_expired && c->tls_key_log);

    wsc::ConnectOptions files;
    files.tls_client_cert_file("/etc/client.crt").tls_client_key_file("/etc/client.key");
    auto built = files.native();
    CHECK(same(built.get()->tls_client_cert_file, "/etc/client.crt"));
    CHECK(same(built.get()->tls_client_key_file, "/etc/client.key"));
    CHECK(built.get()->tls_client_cert_pem == nullptr && built.get()->tls_client_key_pem_len == 0);

    const wsc::ConnectOptions none;
    auto n = none.native();
    c = n.get();
    CHECK(c->tls_client_cert_file == nullptr && c->tls_client_cert_pem == nullptr);
    CHECK(c->tls_client_key_file == nullptr && c->tls_client_key_pem == nullptr);
    CHECK(c->tls_server_name == nullptr);
    CHECK(!c->tls_ca_add_to_system && !c->tls_allow_self_signed && !c->tls_skip_hostname_verification);
    CHECK(!c->tls_allow_expired && !c->tls_key_log);

    // A bad value is refused at connect with the option's name.
    wsc::Context ctx;
    try {
        ctx.connect("wss://127.0.0.1:1/", {}, wsc::ConnectOptions().tls_server_name("bad name"));
        FAIL("tls_server_name \"bad name\": no exception");
    } catch (const wsc::Error &e) {
        CHECK_RESULT(e.code(), WSC_ERR_INVALID_ARGUMENT);
        CHECK(std::string(e.what()).find("tls_server_name") != std::string::npos);
    }
    try {
        ctx.connect("wss://127.0.0.1:1/", {}, wsc::ConnectOptions().tls_client_cert_pem(cert));
        FAIL("a client certificate without a key: no exception");
    } catch (const wsc::Error &e) {
        CHECK_RESULT(e.code(), WSC_ERR_INVALID_ARGUMENT);
        CHECK(std::string(e.what()).find("without its private key") != std::string::npos);
    }
    CHECK_INT(ctx.connection_count(), 0);
}

// The call throws wsc::Error with `expected`, and a message that says more than the result.
template <class F> static void check_throws(F call, wsc_result expected, const char *what) {
    try {
        call();
        FAIL("%s: no exception", what);
    } catch (const wsc::Error &e) {
        CHECK_RESULT(e.code(), expected);
        CHECK_RESULT(e.result, expected);
        const std::string text = e.what();
        const std::string name = wsc_result_str(expected);
        if (text.compare(0, name.size(), name) != 0 || text.size() <= name.size() + 2)
            FAIL("%s: message \"%s\" does not start with \"%s\" and add details", what, text.c_str(), name.c_str());
    }
}

static void errors(const std::string &server) {
    wsc::Context ctx;
    check_throws([&] { ctx.connect("http://127.0.0.1/"); }, WSC_ERR_INVALID_URL, "http URL");
    check_throws([&] { ctx.connect(server, {}, wsc::ConnectOptions().header("Bad Name", "x")); },
                 WSC_ERR_INVALID_ARGUMENT, "header name with a space");
    check_throws([&] { ctx.connect(server, {}, wsc::ConnectOptions().header("X-Ok", "line\r\nbreak")); },
                 WSC_ERR_INVALID_ARGUMENT, "header value with CRLF");
    check_throws([&] { ctx.connect(server, {}, wsc::ConnectOptions().subprotocol("a,b")); },
                 WSC_ERR_INVALID_ARGUMENT, "subprotocol with a comma");
    CHECK_INT(ctx.connection_count(), 0);  // nothing started, nothing leaked (sanitizer build)

    CHECK(wsc::version() == WSC_VERSION_STRING);
    CHECK(wsc::result_str(WSC_ERR_WOULD_BLOCK) == wsc_result_str(WSC_ERR_WOULD_BLOCK));
    CHECK(!wsc::result_str(WSC_OK).empty());

    bool threw = false;
    try {
        wsc::check(WSC_OK);
        wsc::check(WSC_ERR_WOULD_BLOCK);
    } catch (const wsc::Error &e) {
        threw = e.code() == WSC_ERR_WOULD_BLOCK;
    }
    CHECK(threw);

    // An empty Connection: every call fails, none crashes.
    wsc::Connection none;
    CHECK(!none && !none.owned());
    CHECK_RESULT(none.send_text("x"), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(none.send_binary(std::vector<uint8_t>{1, 2}), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(none.send_fragment(true, "x", true), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(none.send_ping(), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(none.close(), WSC_ERR_NULL_ARGUMENT);
    CHECK(!none.subprotocol());
    CHECK_INT(none.buffered_amount(), 0);
    check_throws([&] { none.header("Upgrade"); }, WSC_ERR_NULL_ARGUMENT, "header() of an empty Connection");

    // Moving an owned handle: the source is left empty, the handle is released once (the
    // sanitizer build checks).
    wsc::Connection a = ctx.connect(server);
    CHECK(a && a.owned());
    wsc_connection *raw = a.get();
    wsc::Connection b = std::move(a);
    CHECK(!a && !a.owned() && b.get() == raw && b.owned());
    a = std::move(b);
    CHECK(a.get() == raw && !b);
    CHECK_RESULT(a.close(), WSC_OK);  // before open: abandons it

    // The C structs directly.
    wsc::Context from_c(static_cast<const wsc_context_options *>(nullptr));
    wsc_connect_options c_options = WSC_CONNECT_OPTIONS_INIT;
    c_options.max_redirects = 1;
    bool closed = false;
    wsc::Callbacks cb;
    cb.on_close = [&](wsc::Connection &, const wsc::CloseInfo &) { closed = true; };
    auto c = from_c.connect(server, std::move(cb), &c_options);
    CHECK_RESULT(c.close(), WSC_OK);
    const double deadline = wt_now() + 10;
    while (from_c.connection_count() > 0 && wt_now() < deadline) from_c.service(50ms);
    CHECK(closed);

    // An empty (moved-from) Context.
    wsc::Context moved = std::move(ctx);
    CHECK(ctx.get() == nullptr && moved.get() != nullptr);
    CHECK_INT(ctx.connection_count(), 0);
    CHECK_INT(ctx.fd(), -1);
    check_throws([&] { ctx.service(0ms); }, WSC_ERR_NULL_ARGUMENT, "service() of an empty Context");
    check_throws([&] { ctx.wake(); }, WSC_ERR_NULL_ARGUMENT, "wake() of an empty Context");
    check_throws([&] { ctx.connect(server); }, WSC_ERR_NULL_ARGUMENT, "connect() on an empty Context");
}

static void options_reach_the_server(const std::string &server) {
    wsc::Context ctx(wsc::ContextOptions().read_buffer_size(4096));
    const std::string large(300 * 1024, 'z');
    std::optional<std::string> protocol, echoed;
    bool got_large = false, clean = false;
    wsc::Callbacks cb;
    cb.on_open = [&](wsc::Connection &c) {
        protocol = c.subprotocol();
        echoed = c.header("x-echo");
        CHECK_RESULT(c.send_fragment(true, large.substr(0, 1000), false), WSC_OK);
        CHECK_RESULT(c.send_fragment(true, large.data() + 1000, large.size() - 1000, true), WSC_OK);
    };
    cb.on_message = [&](wsc::Connection &c, std::string_view data, bool is_text) {
        got_large = is_text && data == large;
        c.close();
    };
    cb.on_close = [&](wsc::Connection &, const wsc::CloseInfo &info) { clean = info.clean; };
    auto conn = ctx.connect(server, std::move(cb),
                            wsc::ConnectOptions()
                                .origin("http://localhost")
                                .subprotocols({"second.best", "first"})
                                .headers({{"X-Echo", "from the options"}})
                                .trust_outgoing_text()
                                .deflate_disable()
                                .close_timeout(5s));
    const double deadline = wt_now() + 20;
    while (ctx.connection_count() > 0 && wt_now() < deadline) ctx.service(50ms);
    CHECK_INT(ctx.connection_count(), 0);
    CHECK(protocol == std::optional<std::string>("second.best"));
    CHECK(echoed == std::optional<std::string>("from the options"));
    CHECK(got_large);
    CHECK(clean);
}

int main(int argc, char **argv) {
    const std::string server = wt_server_url(argc, argv);
    try {
        every_field();
        defaults_and_limits();
        tls_fields();
        errors(server);
        options_reach_the_server(server);
    } catch (const std::exception &e) {
        FAIL("unexpected exception: %s", e.what());
    }
    return wt_finish("cpp_options");
}
