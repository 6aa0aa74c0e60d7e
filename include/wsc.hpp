// wsc.hpp: the C++17 interface to wsc, header-only over wsc.h (link with libwsc as from C).
//
//   wsc::Context ctx;
//   wsc::Callbacks cb;
//   cb.on_open = [](wsc::Connection &c) { c.send_text("hello"); };
//   cb.on_message = [](wsc::Connection &c, std::string_view, bool) { c.close(); };
//   auto conn = ctx.connect("ws://127.0.0.1:9001/", std::move(cb));
//   ctx.run();
//
// Conventions (docs/cpp.md has a guide):
//
// - Errors. Calls whose failure is a mistake or an exceptional condition throw wsc::Error,
//   which carries the wsc_result and the text of wsc_last_error(): Context construction,
//   connect (bad URL or options), service/run (e.g. WSC_ERR_BUSY), wake, start_timer and
//   Connection::header on a handle that is not one. Sends, close and pings return the
//   wsc_result instead, because their failures are ordinary in asynchronous code:
//   WSC_ERR_WOULD_BLOCK (the send buffer is full; on_writable follows) and
//   WSC_ERR_NOT_OPEN (not open yet, or closing) happen to correct programs. Pass such a
//   result to wsc::check() to throw instead.
//
// - Exceptions in callbacks. A callback (or timer callback) may throw: the exception is
//   caught before it reaches the C library, kept, and rethrown by the Context::service() or
//   Context::run() call that ran the callback, once wsc_service has returned. The loop and
//   the connection are not affected: the connection stays open (close it in the handler if
//   that is what the application wants), and the callbacks due in the same service() call
//   still run. If several callbacks throw during one service() call, the first exception
//   is rethrown and the others are dropped; so is an exception thrown by on_close while the
//   Context is being destroyed.
//
// - Threads: as in wsc.h. Connection's sends, close(), buffered_amount(), retry_in_ms()
//   (and subprotocol()/header() once on_open has run), Context::connect(), wake(),
//   connection_count(), fd(), start_timer() and Timer::stop() are safe from any thread;
//   service(), run(), next_timeout() and the Context's destruction belong to the thread
//   that runs the loop, where every callback runs. Never destroy a Context from one of its
//   own callbacks. (The calls are thread-safe; the C++ objects themselves are not: do not
//   move, assign or destroy one while another thread uses it.)
//
// - Lifetimes. A Connection given to a callback is borrowed: valid during the callback
//   only. The Connection returned by Context::connect owns the handle (wsc_connection_free
//   in its destructor, which does not close the connection). Callbacks are kept until the
//   connection's last on_close has returned; string_views given to callbacks are valid
//   during the callback only.
#ifndef WSC_HPP
#define WSC_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "wsc.h"

namespace wsc {

/// The loaded library's version, e.g. "0.1.0" (WSC_VERSION_STRING is the header's).
inline std::string_view version() noexcept { return wsc_version(); }

/// A short description of a result (wsc_result_str).
inline std::string_view result_str(wsc_result r) noexcept { return wsc_result_str(static_cast<int>(r)); }

/// A failed wsc call: the wsc_result and a message (wsc_result_str, then wsc_last_error()).
class Error : public std::runtime_error {
  public:
    /// Reads wsc_last_error(): construct it right after the failing call.
    explicit Error(wsc_result r) : Error(r, wsc_last_error()) {}
    Error(wsc_result r, const char *message) : std::runtime_error(describe(r, message)), result(r) {}
    wsc_result code() const noexcept { return result; }
    wsc_result result;

  private:
    static std::string describe(wsc_result r, const char *message) {
        std::string details = message ? message : "";  // copied before the next wsc call
        std::string text = wsc_result_str(static_cast<int>(r));
        if (!details.empty()) text += ": " + details;
        return text;
    }
};

/// Throws wsc::Error unless `r` is WSC_OK; e.g. wsc::check(conn.send_text(json)).
inline void check(wsc_result r) {
    if (r != WSC_OK) throw Error(r);
}

namespace detail {

// Option structs are value-initialised (all zero: the defaults), then set field by field.
// A `struct_size` member, when the C struct has one, is set to the size this program was
// compiled with.
template <class T, class = void> struct has_struct_size : std::false_type {};
template <class T>
struct has_struct_size<T, std::void_t<decltype(std::declval<T &>().struct_size)>> : std::true_type {};
template <class T> T zeroed() {
    T value{};
    if constexpr (has_struct_size<T>::value) value.struct_size = sizeof(T);
    return value;
}

// Milliseconds for a uint32_t option: negative gives 0 (the default), too large the maximum.
inline uint32_t ms_u32(std::chrono::milliseconds d) {
    auto n = d.count();
    if (n <= 0) return 0;
    return n >= static_cast<decltype(n)>(std::numeric_limits<uint32_t>::max())
               ? std::numeric_limits<uint32_t>::max()
               : static_cast<uint32_t>(n);
}

// Anything with data() and size(): std::string, std::vector<uint8_t>, std::array, ...
template <class T, class = void> struct is_bytes : std::false_type {};
template <class T>
struct is_bytes<T, std::void_t<decltype(std::declval<const T &>().data()),
                               decltype(std::declval<const T &>().size())>> : std::true_type {};

struct ContextState;
struct ConnectionState;

}  // namespace detail

/// A log handler: a line's level and text (no trailing newline; valid during the call only).
/// It runs on the loop's thread, and at WSC_LOG_TRACE on threads that send (each frame is
/// logged by the thread that queues it), possibly at once: it must be thread-safe. An
/// exception it throws is dropped.
using LogHandler = std::function<void(wsc_log_level, std::string_view)>;

namespace detail {

inline void log_line(wsc_log_level level, const char *line, void *user) noexcept {
    try {
        (*static_cast<const LogHandler *>(user))(level, line);
    } catch (...) {
    }
}

// The process-wide handler, kept until the next one replaces it (never destroyed: a thread
// may log while the program exits).
struct ProcessLog {
    std::mutex mutex;
    std::unique_ptr<LogHandler> handler;
};
inline ProcessLog &process_log() {
    static ProcessLog *log = new ProcessLog;
    return *log;
}

}  // namespace detail

/// Sets the process-wide log handler (wsc_log_set_handler): lines up to `max_level` from the
/// connections of every Context without a handler of its own go to `handler`. An empty
/// function goes back to the default (nothing, or stderr when WSC_LOG is set). Safe from any
/// thread; once it returns, the previous handler is no longer called. Throws wsc::Error for
/// a level outside WSC_LOG_OFF..WSC_LOG_TRACE.
inline void set_log_handler(LogHandler handler, wsc_log_level max_level = WSC_LOG_DEBUG) {
    auto &process = detail::process_log();
    std::lock_guard<std::mutex> lock(process.mutex);
    auto next = handler ? std::make_unique<LogHandler>(std::move(handler)) : nullptr;
    wsc_result r = wsc_log_set_handler(next ? detail::log_line : nullptr, next.get(),
                                       static_cast<int>(max_level));
    if (r != WSC_OK) throw Error(r);
    process.handler = std::move(next);  // the old one is no longer called: free it
}

/// A connection: borrowed (the argument of a callback, valid during the call) or owned (from
/// Context::connect; its destructor releases the handle, which does not close the
/// connection). An empty Connection (default-constructed or moved from) makes every call
/// fail with WSC_ERR_NULL_ARGUMENT.
class Connection {
  public:
    Connection() noexcept = default;
    explicit Connection(wsc_connection *raw, bool owned = false) noexcept : raw_(raw), owned_(owned) {}
    Connection(Connection &&other) noexcept
        : raw_(std::exchange(other.raw_, nullptr)), owned_(std::exchange(other.owned_, false)) {}
    Connection &operator=(Connection &&other) noexcept {
        if (this != &other) {
            reset();
            raw_ = std::exchange(other.raw_, nullptr);
            owned_ = std::exchange(other.owned_, false);
        }
        return *this;
    }
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;
    ~Connection() { reset(); }

    // --- Sending: each returns the wsc_result (see the conventions at the top). ---

    /// A text message (UTF-8, checked unless the options trust outgoing text); copied.
    wsc_result send_text(std::string_view text) noexcept {
        return wsc_send_text(raw_, text.data(), text.size());
    }
    /// A binary message; copied.
    wsc_result send_binary(const void *data, size_t len) noexcept {
        return wsc_send_binary(raw_, static_cast<const uint8_t *>(data), len);
    }
    /// A binary message from anything with data() and size() (std::vector<uint8_t>,
    /// std::string, std::array, ...); copied.
    template <class Bytes, class = std::enable_if_t<detail::is_bytes<Bytes>::value>>
    wsc_result send_binary(const Bytes &bytes) noexcept {
        return send_binary(bytes.data(), bytes.size() * sizeof(*bytes.data()));
    }
    /// One fragment of a message: the first starts a text or binary message, `is_final` ends
    /// it; nothing else may be sent in between but pings (see wsc_send_fragment).
    wsc_result send_fragment(bool is_text, const void *data, size_t len, bool is_final) noexcept {
        return wsc_send_fragment(raw_, is_text, static_cast<const uint8_t *>(data), len, is_final);
    }
    wsc_result send_fragment(bool is_text, std::string_view data, bool is_final) noexcept {
        return send_fragment(is_text, data.data(), data.size(), is_final);
    }
    /// A ping with up to 125 bytes of payload; the server's pong reaches on_pong.
    wsc_result send_ping(std::string_view payload = {}) noexcept {
        return wsc_send_ping(raw_, reinterpret_cast<const uint8_t *>(payload.data()), payload.size());
    }
    /// The same as send_ping.
    wsc_result ping(std::string_view payload = {}) noexcept { return send_ping(payload); }

    /// Sends without copying: `bytes` (a std::string, std::vector<uint8_t>, ... anything with
    /// data() and size()) is kept alive until wsc has written it, then let go; the same buffer
    /// may go to many connections. See wsc_send_binary_nocopy.
    template <class Bytes> wsc_result send_binary_nocopy(std::shared_ptr<const Bytes> bytes) {
        return lend(std::move(bytes), false);
    }
    template <class Bytes> wsc_result send_text_nocopy(std::shared_ptr<const Bytes> bytes) {
        return lend(std::move(bytes), true);
    }

    /// Starts the closing handshake (see wsc_close); `reason`: UTF-8, at most 123 bytes,
    /// nullptr or empty for none.
    wsc_result close(uint16_t code = WSC_CLOSE_NORMAL, const char *reason = nullptr) noexcept {
        return wsc_close(raw_, code, reason);
    }
    /// The same with a string_view reason (copied to add the terminating NUL; the reason
    /// ends at its first NUL, if any).
    wsc_result close(uint16_t code, std::string_view reason) {
        return close(code, std::string(reason).c_str());
    }

    // --- What the server answered, and the state of the connection. ---

    /// The subprotocol the server chose; nullopt when it chose none or the connection is
    /// not open.
    std::optional<std::string> subprotocol() const {
        const char *p = wsc_connection_subprotocol(raw_);
        if (!p) return std::nullopt;
        return std::string(p);
    }
    /// A header of the server's answer to this attempt's handshake (the first of that name,
    /// case-insensitive): its 101 once open, or the response that refused the handshake
    /// (inside that attempt's on_error/on_close); nullopt when there is none or no answer
    /// yet. Throws wsc::Error for an empty Connection.
    std::optional<std::string> header(std::string_view name) const {
        const std::string n(name);
        const uint8_t *value = nullptr;
        size_t len = 0;
        wsc_result r = wsc_connection_header(raw_, n.c_str(), &value, &len);
        if (r == WSC_ERR_NOT_FOUND) return std::nullopt;
        check(r);
        return std::string(reinterpret_cast<const char *>(value), len);
    }
    /// Every header field of the server's answer to this attempt's handshake (its 101, or the
    /// response that refused it), as (name, value) in the order received.
    std::vector<std::pair<std::string, std::string>> headers() const {
        std::vector<std::pair<std::string, std::string>> fields;
        const uint8_t *name = nullptr, *value = nullptr;
        size_t name_len = 0, value_len = 0;
        while (wsc_connection_header_at(raw_, fields.size(), &name, &name_len, &value, &value_len) == WSC_OK)
            fields.emplace_back(std::string(reinterpret_cast<const char *>(name), name_len),
                                std::string(reinterpret_cast<const char *>(value), value_len));
        return fields;
    }
    /// The status code of the server's answer to this attempt's handshake: 101 once open, or
    /// the status that refused it (401, 403, 503, ...) inside on_error/on_close; 0 before an
    /// answer (see wsc_connection_status).
    uint16_t status() const noexcept { return wsc_connection_status(raw_); }
    /// The start of the body of the response that refused the handshake (at most 1 KiB);
    /// nullopt when the handshake was not refused. Throws wsc::Error for an empty Connection.
    std::optional<std::string> response_body() const {
        const uint8_t *data = nullptr;
        size_t len = 0;
        wsc_result r = wsc_connection_response_body(raw_, &data, &len);
        if (r == WSC_ERR_NOT_FOUND) return std::nullopt;
        check(r);
        return std::string(reinterpret_cast<const char *>(data), len);
    }
    /// The URL of the next reconnect attempt and the ones after it; meant for on_reconnect
    /// (see wsc_connection_set_url). Throws wsc::Error for a URL wsc cannot use.
    void set_url(const std::string &url) { check(wsc_connection_set_url(raw_, url.c_str())); }
    /// Replaces (or adds) a request header of the next reconnect attempt and the ones after
    /// it; nullopt removes it (see wsc_connection_set_header). Throws wsc::Error for an
    /// invalid name or value.
    void set_header(const std::string &name, const std::optional<std::string> &value) {
        check(wsc_connection_set_header(raw_, name.c_str(), value ? value->c_str() : nullptr));
    }
    /// With reconnect on, inside on_error/on_close: the milliseconds until the next attempt,
    /// -1 when none is scheduled (see wsc_connection_retry_in_ms).
    int64_t retry_in_ms() const noexcept { return wsc_connection_retry_in_ms(raw_); }
    /// retry_in_ms() as a duration; nullopt when no attempt is scheduled.
    std::optional<std::chrono::milliseconds> retry_in() const noexcept {
        int64_t ms = retry_in_ms();
        if (ms < 0) return std::nullopt;
        return std::chrono::milliseconds(ms);
    }
    /// The connected socket's descriptor, for setsockopt/getsockopt only: do not read,
    /// write or close it. -1 while not connected (see wsc_connection_fd).
    int fd() const noexcept { return wsc_connection_fd(raw_); }
    /// Bytes queued and not yet written to the network.
    size_t buffered_amount() const noexcept { return wsc_connection_buffered_amount(raw_); }

    // --- Flow control (see wsc.h): safe from any thread. ---

    /// Stops reading from the server (TCP backpressure) until resume_reading().
    wsc_result pause_reading() noexcept { return wsc_pause_reading(raw_); }
    /// Reads again after pause_reading(), including what arrived meanwhile.
    wsc_result resume_reading() noexcept { return wsc_resume_reading(raw_); }
    /// Asks for one on_writable once the unwritten bytes are at or below the low-water mark.
    wsc_result request_writable() noexcept { return wsc_request_writable(raw_); }
    /// Drops the connection at once, without a Close frame (on_close: 1006, application).
    wsc_result abort() noexcept { return wsc_abort(raw_); }

    wsc_connection *get() const noexcept { return raw_; }
    bool owned() const noexcept { return owned_; }
    explicit operator bool() const noexcept { return raw_ != nullptr; }

  private:
    void reset() noexcept {
        if (owned_ && raw_) wsc_connection_free(raw_);
        raw_ = nullptr;
        owned_ = false;
    }
    template <class Bytes> wsc_result lend(std::shared_ptr<const Bytes> bytes, bool text) {
        using Keep = std::shared_ptr<const Bytes>;
        auto *keep = new Keep(std::move(bytes));
        const auto *data = reinterpret_cast<const uint8_t *>((*keep)->data());
        size_t len = (*keep)->size() * sizeof(*(*keep)->data());
        wsc_release_fn let_go = [](const uint8_t *, size_t, void *user) { delete static_cast<Keep *>(user); };
        wsc_result r = text ? wsc_send_text_nocopy(raw_, reinterpret_cast<const char *>(data), len, let_go, keep)
                            : wsc_send_binary_nocopy(raw_, data, len, let_go, keep);
        if (r != WSC_OK) delete keep;  // refused: wsc does not call let_go
        return r;
    }
    wsc_connection *raw_ = nullptr;
    bool owned_ = false;
};

/// A part of a message, with ConnectOptions::stream_messages (see on_message_part in wsc.h).
struct MessagePart {
    /// The part's bytes, valid during the call only.
    std::string_view data;
    bool is_text;
    bool first;
    bool last;
    /// Payload bytes of the current frame still to come (0 when unknown or none).
    uint64_t remaining_in_frame;
};

/// How a connection ended (see on_close in wsc.h).
struct CloseInfo {
    uint16_t code;
    std::string_view reason;
    wsc_closed_by closed_by;
    bool clean;
};

/// A connection's callbacks; any may be empty (not called). They run on the thread that runs
/// the loop; each may throw (see the conventions at the top).
struct Callbacks {
    /// The handshake completed; sends are possible from now on.
    std::function<void(Connection &)> on_open;
    /// A whole message; text is valid UTF-8. `data` is valid during the call only.
    std::function<void(Connection &, std::string_view data, bool is_text)> on_message;
    /// A ping arrived; the pong is already queued.
    std::function<void(Connection &, std::string_view payload)> on_ping;
    /// A pong arrived.
    std::function<void(Connection &, std::string_view payload)> on_pong;
    /// A part of a message as it arrives, with ConnectOptions::stream_messages (on_message is
    /// then not called).
    std::function<void(Connection &, const MessagePart &)> on_message_part;
    /// The send buffer drained after a send returned WSC_ERR_WOULD_BLOCK, or reached the
    /// low-water mark after request_writable().
    std::function<void(Connection &)> on_writable;
    /// A failure; on_close follows.
    std::function<void(Connection &, wsc_result, std::string_view message)> on_error;
    /// The end: the last callback (with reconnect on, once per drop: see retry_in_ms()).
    std::function<void(Connection &, const CloseInfo &)> on_close;
    /// With reconnect on, before retry number `attempt` (1 for the first): the place for
    /// Connection::set_url()/set_header(); close() here cancels the retry.
    std::function<void(Connection &, uint32_t attempt)> on_reconnect;
};

/// One permessage-deflate offer (wsc_deflate_offer; all-zero is the default offer).
using DeflateOffer = wsc_deflate_offer;

/// Options of Context::connect, as wsc_connect_options with C++ types. Every setter returns
/// *this, so they chain; what is not set keeps wsc's default (see wsc_connect_options in
/// wsc.h for each value). Durations are whole milliseconds, zero meaning the default.
class ConnectOptions {
  public:
    ConnectOptions() = default;

    ConnectOptions &origin(std::string value) { origin_ = std::move(value); return *this; }
    /// Appends a subprotocol to offer (in order of preference).
    ConnectOptions &subprotocol(std::string name) { subprotocols_.push_back(std::move(name)); return *this; }
    ConnectOptions &subprotocols(std::vector<std::string> names) { subprotocols_ = std::move(names); return *this; }
    /// Appends a request header.
    ConnectOptions &header(std::string name, std::string value) {
        headers_.emplace_back(std::move(name), std::move(value));
        return *this;
    }
    ConnectOptions &headers(std::vector<std::pair<std::string, std::string>> list) {
        headers_ = std::move(list);
        return *this;
    }
    ConnectOptions &connect_timeout(std::chrono::milliseconds d) { c_.connect_timeout_ms = detail::ms_u32(d); return *this; }
    ConnectOptions &handshake_timeout(std::chrono::milliseconds d) { c_.handshake_timeout_ms = detail::ms_u32(d); return *this; }
    ConnectOptions &close_timeout(std::chrono::milliseconds d) { c_.close_timeout_ms = detail::ms_u32(d); return *this; }
    ConnectOptions &max_frame_size(uint64_t n) { c_.max_frame_size = n; return *this; }
    ConnectOptions &max_message_size(uint64_t n) { c_.max_message_size = n; return *this; }
    ConnectOptions &max_fragments(uint32_t n) { c_.max_fragments = n; return *this; }
    ConnectOptions &max_handshake_headers(uint32_t n) { c_.max_handshake_headers = n; return *this; }
    ConnectOptions &max_handshake_size(size_t n) { c_.max_handshake_size = n; return *this; }
    ConnectOptions &send_buffer_limit(size_t n) { c_.send_buffer_limit = n; return *this; }
    ConnectOptions &deflate_disable(bool on = true) { c_.deflate_disable = on; return *this; }
    ConnectOptions &deflate_level(uint8_t level) { c_.deflate_level = level; return *this; }
    /// Appends a permessage-deflate offer (in order of preference).
    ConnectOptions &deflate_offer(const DeflateOffer &offer) { deflate_offers_.push_back(offer); return *this; }
    ConnectOptions &deflate_offers(std::vector<DeflateOffer> offers) { deflate_offers_ = std::move(offers); return *this; }
    ConnectOptions &tls_ca_file(std::string path) { tls_ca_file_ = std::move(path); return *this; }
    /// PEM CA certificates in memory (copied here).
    ConnectOptions &tls_ca_pem(std::string pem) { tls_ca_pem_ = std::move(pem); return *this; }
    ConnectOptions &keepalive_interval(std::chrono::milliseconds d) { c_.keepalive_interval_ms = detail::ms_u32(d); return *this; }
    ConnectOptions &keepalive_timeout(std::chrono::milliseconds d) { c_.keepalive_timeout_ms = detail::ms_u32(d); return *this; }
    /// "http://user:pw@proxy:3128" (HTTP CONNECT), "socks5://user:pw@proxy:1080" (SOCKS5, the
    /// name resolved here) or "socks5h://..." (SOCKS5, the proxy resolves it); see proxy_url in
    /// wsc.h. Unset: the environment (http_proxy, https_proxy, all_proxy, no_proxy).
    ConnectOptions &proxy_url(std::string url) { proxy_url_ = std::move(url); return *this; }
    ConnectOptions &proxy_disable(bool on = true) { c_.proxy_disable = on; return *this; }
    ConnectOptions &max_redirects(uint32_t n) { c_.max_redirects = n; return *this; }
    ConnectOptions &reconnect(bool on = true) { c_.reconnect = on; return *this; }
    ConnectOptions &reconnect_min_delay(std::chrono::milliseconds d) { c_.reconnect_min_delay_ms = detail::ms_u32(d); return *this; }
    ConnectOptions &reconnect_max_delay(std::chrono::milliseconds d) { c_.reconnect_max_delay_ms = detail::ms_u32(d); return *this; }
    ConnectOptions &reconnect_max_attempts(uint32_t n) { c_.reconnect_max_attempts = n; return *this; }
    ConnectOptions &reconnect_on_client_error(bool on = true) { c_.reconnect_on_client_error = on; return *this; }
    /// DANGER: accept any certificate (see wsc.h). Test servers only.
    ConnectOptions &tls_insecure_skip_verification(bool on = true) { c_.tls_insecure_skip_verification = on; return *this; }
    // TLS: client certificate, server name, narrow relaxations, key logging (see wsc.h).
    /// The client's certificate chain for mutual TLS, from a PEM file (its own certificate first).
    ConnectOptions &tls_client_cert_file(std::string path) { tls_client_cert_file_ = std::move(path); return *this; }
    /// The client's certificate chain as PEM in memory (copied here).
    ConnectOptions &tls_client_cert_pem(std::string pem) { tls_client_cert_pem_ = std::move(pem); return *this; }
    /// The private key of the client certificate, from a PEM file (PKCS#8, PKCS#1 or SEC1).
    ConnectOptions &tls_client_key_file(std::string path) { tls_client_key_file_ = std::move(path); return *this; }
    /// The private key as PEM in memory (copied here).
    ConnectOptions &tls_client_key_pem(std::string pem) { tls_client_key_pem_ = std::move(pem); return *this; }
    /// The name sent in SNI and verified instead of the URL's host (a DNS name or an IP address).
    ConnectOptions &tls_server_name(std::string name) { tls_server_name_ = std::move(name); return *this; }
    /// The CA of tls_ca_file/tls_ca_pem is trusted in addition to the system's store.
    ConnectOptions &tls_ca_add_to_system(bool on = true) { c_.tls_ca_add_to_system = on; return *this; }
    /// Accept any self-signed server certificate (its dates and name still verified).
    ConnectOptions &tls_allow_self_signed(bool on = true) { c_.tls_allow_self_signed = on; return *this; }
    /// Do not check the certificate's name (the chain is still verified).
    ConnectOptions &tls_skip_hostname_verification(bool on = true) { c_.tls_skip_hostname_verification = on; return *this; }
    /// Accept certificates past their notAfter date (names and issuers still verified).
    ConnectOptions &tls_allow_expired(bool on = true) { c_.tls_allow_expired = on; return *this; }
    /// Append TLS secrets to $SSLKEYLOGFILE (debugging: it lets the sessions be decrypted).
    ConnectOptions &tls_key_log(bool on = true) { c_.tls_key_log = on; return *this; }
    ConnectOptions &trust_outgoing_text(bool on = true) { c_.trust_outgoing_text = on; return *this; }
    ConnectOptions &stream_messages(bool on = true) { c_.stream_messages = on; return *this; }
    ConnectOptions &writable_low_water(size_t bytes) { c_.writable_low_water = bytes; return *this; }
    // Sockets (see wsc.h): where the connection goes and where it comes from.
    /// Connect to "HOST[:PORT]" (or a comma-separated list of IP addresses) instead of the
    /// URL's host, which stays the server's name for Host, SNI and the certificate.
    ConnectOptions &connect_to(std::string address) { connect_to_ = std::move(address); return *this; }
    /// Connect from this local IP address, "ADDR[:PORT]" ("[IPV6]:PORT").
    ConnectOptions &local_address(std::string address) { local_address_ = std::move(address); return *this; }
    /// Connect through this network interface (SO_BINDTODEVICE, Linux).
    ConnectOptions &interface(std::string name) { interface_ = std::move(name); return *this; }

    /// The C struct's plain fields, for those this class has no setter for. Pointer fields
    /// set here are used unless the matching setter above was called.
    wsc_connect_options &raw() noexcept { return c_; }
    const wsc_connect_options &raw() const noexcept { return c_; }

    /// The C struct for one wsc_connect call. It points into this ConnectOptions, so it is
    /// valid while this object lives unchanged. Movable, not copyable.
    class Native {
      public:
        const wsc_connect_options *get() const noexcept { return &c_; }
        Native(Native &&) noexcept = default;
        Native &operator=(Native &&) noexcept = default;
        Native(const Native &) = delete;
        Native &operator=(const Native &) = delete;

      private:
        friend class ConnectOptions;
        Native() = default;
        wsc_connect_options c_{};
        std::vector<const char *> subprotocols_;  // moving a vector keeps its buffer
        std::vector<wsc_header> headers_;
    };
    Native native() const {
        Native n;
        n.c_ = c_;
        if (origin_) n.c_.origin = origin_->c_str();
        if (!subprotocols_.empty()) {
            for (const auto &s : subprotocols_) n.subprotocols_.push_back(s.c_str());
            n.c_.subprotocols = n.subprotocols_.data();
            n.c_.subprotocol_count = n.subprotocols_.size();
        }
        if (!headers_.empty()) {
            for (const auto &h : headers_) {
                wsc_header header{};
                header.name = h.first.c_str();
                header.value = h.second.c_str();
                n.headers_.push_back(header);
            }
            n.c_.headers = n.headers_.data();
            n.c_.header_count = n.headers_.size();
        }
        if (!deflate_offers_.empty()) {
            n.c_.deflate_offers = deflate_offers_.data();
            n.c_.deflate_offer_count = deflate_offers_.size();
        }
        if (tls_ca_file_) n.c_.tls_ca_file = tls_ca_file_->c_str();
        if (tls_ca_pem_) {
            n.c_.tls_ca_pem = reinterpret_cast<const uint8_t *>(tls_ca_pem_->data());
            n.c_.tls_ca_pem_len = tls_ca_pem_->size();
        }
        if (proxy_url_) n.c_.proxy_url = proxy_url_->c_str();
        if (connect_to_) n.c_.connect_to = connect_to_->c_str();
        if (local_address_) n.c_.local_address = local_address_->c_str();
        if (interface_) n.c_.interface = interface_->c_str();
        if (tls_client_cert_file_) n.c_.tls_client_cert_file = tls_client_cert_file_->c_str();
        if (tls_client_cert_pem_) {
            n.c_.tls_client_cert_pem = reinterpret_cast<const uint8_t *>(tls_client_cert_pem_->data());
            n.c_.tls_client_cert_pem_len = tls_client_cert_pem_->size();
        }
        if (tls_client_key_file_) n.c_.tls_client_key_file = tls_client_key_file_->c_str();
        if (tls_client_key_pem_) {
            n.c_.tls_client_key_pem = reinterpret_cast<const uint8_t *>(tls_client_key_pem_->data());
            n.c_.tls_client_key_pem_len = tls_client_key_pem_->size();
        }
        if (tls_server_name_) n.c_.tls_server_name = tls_server_name_->c_str();
        return n;
    }

  private:
    wsc_connect_options c_ = detail::zeroed<wsc_connect_options>();
    std::optional<std::string> origin_;
    std::vector<std::string> subprotocols_;
    std::vector<std::pair<std::string, std::string>> headers_;
    std::vector<DeflateOffer> deflate_offers_;
    std::optional<std::string> tls_ca_file_;
    std::optional<std::string> tls_ca_pem_;
    std::optional<std::string> proxy_url_;
    std::optional<std::string> connect_to_;
    std::optional<std::string> local_address_;
    std::optional<std::string> interface_;
    std::optional<std::string> tls_client_cert_file_;
    std::optional<std::string> tls_client_cert_pem_;
    std::optional<std::string> tls_client_key_file_;
    std::optional<std::string> tls_client_key_pem_;
    std::optional<std::string> tls_server_name_;
};

/// Options of a Context (wsc_context_options), in the same style.
class ContextOptions {
  public:
    ContextOptions() = default;
    ContextOptions &read_buffer_size(size_t n) { c_.read_buffer_size = n; return *this; }
    /// This context's connections log to `handler` (lines up to `max_level`) instead of the
    /// process-wide handler (set_log_handler). The Context keeps it as long as it lives.
    ContextOptions &log_handler(LogHandler handler, wsc_log_level max_level = WSC_LOG_DEBUG) {
        log_ = handler ? std::make_shared<const LogHandler>(std::move(handler)) : nullptr;
        c_.log_level = static_cast<int>(max_level);
        return *this;
    }
    wsc_context_options &raw() noexcept { return c_; }
    const wsc_context_options &raw() const noexcept { return c_; }
    /// The C struct; with a log handler it points to it (keep this ContextOptions alive, or
    /// hold log() as long as the context lives).
    wsc_context_options native() const noexcept {
        wsc_context_options c = c_;
        if (log_) {
            c.log_fn = detail::log_line;
            c.log_user = const_cast<LogHandler *>(log_.get());
        }
        return c;
    }
    /// The log handler, shared.
    const std::shared_ptr<const LogHandler> &log() const noexcept { return log_; }

  private:
    wsc_context_options c_ = detail::zeroed<wsc_context_options>();
    std::shared_ptr<const LogHandler> log_;
};

namespace detail {

struct TimerState {
    std::function<void()> fn;
    ContextState *context;
    bool once;
    uint64_t id = 0;    // guarded by ContextState::timers_mutex
    bool done = false;  // guarded by ContextState::timers_mutex
};

// What a Context shares with its connections' and timers' callbacks, and with Timer handles.
struct ContextState {
    wsc_context *raw = nullptr;
    std::exception_ptr pending;  // the first exception from a callback; loop thread only
    std::shared_ptr<const LogHandler> log;  // the context's log handler, if any: outlives `raw`

    // A timer's state is freed only by the loop thread between wsc_service calls (or with the
    // context), never while its callback may run; `done` marks what can go.
    std::mutex timers_mutex;
    std::list<TimerState> timers;
    std::atomic<bool> timers_done{false};

    ContextState() = default;
    ContextState(const ContextState &) = delete;
    ContextState &operator=(const ContextState &) = delete;
    ~ContextState() { wsc_context_free(raw); }  // normally freed (and NULL) already

    void capture() noexcept {
        if (!pending) pending = std::current_exception();
    }

    void mark_done(TimerState &t) {
        t.done = true;
        timers_done.store(true, std::memory_order_release);
    }

    bool stop_timer(uint64_t id) noexcept {
        if (!raw || id == 0 || wsc_timer_stop(raw, id) != WSC_OK) return false;
        std::lock_guard<std::mutex> lock(timers_mutex);
        for (auto &t : timers) {
            if (t.id == id) {
                mark_done(t);
                break;
            }
        }
        return true;
    }

    // After a wsc_service that ran (no callback of this context is running).
    void after_service() {
        if (timers_done.load(std::memory_order_acquire)) {
            std::list<TimerState> gone;  // destroyed after the lock: a captured object's
                                         // destructor may call wsc
            {
                std::lock_guard<std::mutex> lock(timers_mutex);
                timers_done.store(false, std::memory_order_relaxed);
                for (auto it = timers.begin(); it != timers.end();) {
                    auto next = std::next(it);
                    // id 0: start_timer has not finished with it yet (it will look again).
                    if (it->done && it->id != 0) gone.splice(gone.end(), timers, it);
                    it = next;
                }
            }
        }
        if (pending) std::rethrow_exception(std::exchange(pending, nullptr));
    }

    static void on_timer(wsc_context *, uint64_t, void *user) {
        auto *t = static_cast<TimerState *>(user);
        try {
            t->fn();
        } catch (...) {
            t->context->capture();
        }
        if (t->once) {
            std::lock_guard<std::mutex> lock(t->context->timers_mutex);
            t->context->mark_done(*t);
        }
    }
};

struct ConnectionState {
    Callbacks callbacks;
    ContextState *context;

    template <class F> void guarded(F &&f) noexcept {
        try {
            f();
        } catch (...) {
            context->capture();
        }
    }

    static ConnectionState *of(void *user) { return static_cast<ConnectionState *>(user); }

    static void on_open(wsc_connection *raw, void *user) {
        auto *s = of(user);
        Connection conn(raw);
        s->guarded([&] { s->callbacks.on_open(conn); });
    }
    static void on_message(wsc_connection *raw, const uint8_t *data, size_t len, bool is_text, void *user) {
        auto *s = of(user);
        Connection conn(raw);
        s->guarded([&] {
            s->callbacks.on_message(conn, std::string_view(reinterpret_cast<const char *>(data), len), is_text);
        });
    }
    static void on_ping(wsc_connection *raw, const uint8_t *data, size_t len, void *user) {
        auto *s = of(user);
        Connection conn(raw);
        s->guarded([&] { s->callbacks.on_ping(conn, std::string_view(reinterpret_cast<const char *>(data), len)); });
    }
    static void on_pong(wsc_connection *raw, const uint8_t *data, size_t len, void *user) {
        auto *s = of(user);
        Connection conn(raw);
        s->guarded([&] { s->callbacks.on_pong(conn, std::string_view(reinterpret_cast<const char *>(data), len)); });
    }
    static void on_message_part(wsc_connection *raw, const uint8_t *data, size_t len, uint32_t flags,
                                uint64_t remaining, void *user) {
        auto *s = of(user);
        Connection conn(raw);
        const MessagePart part{std::string_view(reinterpret_cast<const char *>(data), len),
                               (flags & WSC_PART_TEXT) != 0, (flags & WSC_PART_FIRST) != 0,
                               (flags & WSC_PART_LAST) != 0, remaining};
        s->guarded([&] { s->callbacks.on_message_part(conn, part); });
    }
    static void on_writable(wsc_connection *raw, void *user) {
        auto *s = of(user);
        Connection conn(raw);
        s->guarded([&] { s->callbacks.on_writable(conn); });
    }
    static void on_error(wsc_connection *raw, wsc_result result, const char *message, void *user) {
        auto *s = of(user);
        Connection conn(raw);
        s->guarded([&] { s->callbacks.on_error(conn, result, message ? message : ""); });
    }
    static void on_reconnect(wsc_connection *raw, uint32_t attempt, void *user) {
        auto *s = of(user);
        Connection conn(raw);
        s->guarded([&] { s->callbacks.on_reconnect(conn, attempt); });
    }
    static void on_close(wsc_connection *raw, uint16_t code, const char *reason, size_t len, wsc_closed_by by,
                         bool clean, void *user) {
        auto *s = of(user);
        // Read before the callback: a close() inside it cancels a pending retry, and the
        // last on_close then follows separately.
        const bool last = wsc_connection_retry_in_ms(raw) < 0;
        if (s->callbacks.on_close) {
            Connection conn(raw);
            s->guarded([&] { s->callbacks.on_close(conn, CloseInfo{code, std::string_view(reason, len), by, clean}); });
        }
        if (last) delete s;
    }
};

}  // namespace detail

/// A timer started by Context::start_timer. Stops the timer when destroyed (unless
/// released); movable, not copyable. Stopping after the Context is gone does nothing.
class [[nodiscard]] Timer {
  public:
    Timer() noexcept = default;
    Timer(Timer &&other) noexcept : context_(std::move(other.context_)), id_(std::exchange(other.id_, 0)) {}
    Timer &operator=(Timer &&other) noexcept {
        if (this != &other) {
            stop();
            context_ = std::move(other.context_);
            id_ = std::exchange(other.id_, 0);
        }
        return *this;
    }
    Timer(const Timer &) = delete;
    Timer &operator=(const Timer &) = delete;
    ~Timer() { stop(); }

    /// Stops the timer: its callback will not run again. True when it was still running,
    /// false when it had already stopped, fired once and for all, or ended with its Context.
    /// Safe from any thread and from callbacks, the timer's own included.
    bool stop() noexcept {
        uint64_t id = std::exchange(id_, 0);
        auto context = context_.lock();
        context_.reset();
        return context && context->stop_timer(id);
    }
    /// Lets the timer run on without this handle (until it fires once and for all or the
    /// Context ends); returns its id.
    uint64_t release() noexcept {
        context_.reset();
        return std::exchange(id_, 0);
    }
    /// The timer's id (as wsc_timer_start gives it); 0 for an empty handle.
    uint64_t id() const noexcept { return id_; }
    explicit operator bool() const noexcept { return id_ != 0; }

  private:
    friend class Context;
    Timer(std::weak_ptr<detail::ContextState> context, uint64_t id) noexcept
        : context_(std::move(context)), id_(id) {}
    std::weak_ptr<detail::ContextState> context_;
    uint64_t id_ = 0;
};

/// A wsc_context: an event loop for any number of connections. Movable, not copyable.
/// Destroying it ends every connection (their on_close runs first) and every timer.
class Context {
  public:
    explicit Context(const ContextOptions &options = ContextOptions()) {
        const wsc_context_options c = options.native();
        init(&c, options.log());
    }
    /// From the C struct (nullptr: the defaults).
    explicit Context(const wsc_context_options *options) { init(options, nullptr); }
    Context(Context &&) noexcept = default;
    Context &operator=(Context &&other) noexcept {
        if (this != &other) {
            destroy();
            state_ = std::move(other.state_);
        }
        return *this;
    }
    Context(const Context &) = delete;
    Context &operator=(const Context &) = delete;
    ~Context() { destroy(); }

    /// Starts a connection (it opens during service()); throws wsc::Error for a bad URL or
    /// options. The callbacks are kept until the connection's last on_close has returned.
    /// The returned Connection owns a handle to it.
    Connection connect(const std::string &url, Callbacks callbacks = Callbacks(),
                       const ConnectOptions &options = ConnectOptions()) {
        const auto native = options.native();
        return connect(url, std::move(callbacks), native.get());
    }
    /// The same with the C options struct (nullptr: the defaults).
    Connection connect(const std::string &url, Callbacks callbacks, const wsc_connect_options *options) {
        auto *state = new detail::ConnectionState{std::move(callbacks), state_ ? state_.get() : nullptr};
        const Callbacks &cb = state->callbacks;
        using S = detail::ConnectionState;
        wsc_callbacks c = detail::zeroed<wsc_callbacks>();
        if (cb.on_open) c.on_open = S::on_open;
        if (cb.on_message) c.on_message = S::on_message;
        if (cb.on_ping) c.on_ping = S::on_ping;
        if (cb.on_pong) c.on_pong = S::on_pong;
        if (cb.on_message_part) c.on_message_part = S::on_message_part;
        if (cb.on_writable) c.on_writable = S::on_writable;
        if (cb.on_error) c.on_error = S::on_error;
        if (cb.on_reconnect) c.on_reconnect = S::on_reconnect;
        c.on_close = S::on_close;  // always: it frees `state`
        wsc_connection *raw = nullptr;
        wsc_result r = wsc_connect(get(), url.c_str(), options, &c, state, &raw);
        if (r != WSC_OK) {
            Error e(r);
            delete state;
            throw e;
        }
        return Connection(raw, true);
    }

    /// Runs the loop once: waits until something happens, then runs the callbacks. Throws
    /// wsc::Error when the loop cannot run (WSC_ERR_BUSY: from a callback, or while another
    /// thread runs it), and rethrows the first exception a callback threw.
    void service() { service_ms(-1); }
    /// The same, waiting at most `timeout` (zero: not at all; negative: without limit).
    void service(std::chrono::milliseconds timeout) {
        auto n = timeout.count();
        service_ms(n < 0 ? -1
                         : n > std::numeric_limits<int32_t>::max() ? std::numeric_limits<int32_t>::max()
                                                                   : static_cast<int32_t>(n));
    }
    /// Runs the loop until every connection has closed (timers alone do not keep it running).
    void run() {
        while (connection_count() > 0) service();
    }
    /// Runs the loop until `done()` is true, checked before each wait; something must happen
    /// on the loop (a callback, a timer, wake()) for a change to be seen.
    template <class Done> void run_until(Done done) {
        while (!done()) service();
    }

    /// Makes a blocked service() return soon. Safe from any thread.
    void wake() { check(wsc_context_wake(get())); }
    /// Connections started and not yet closed. Safe from any thread.
    size_t connection_count() const noexcept { return wsc_context_connection_count(get()); }
    /// The descriptor a foreign event loop watches for reading (then calls service(0ms)).
    int fd() const noexcept { return wsc_context_fd(get()); }
    /// How long a foreign event loop may wait before calling service(0ms) again: -1 when
    /// nothing is scheduled, 0 when work is waiting (see wsc_next_timeout_ms).
    int32_t next_timeout_ms() const noexcept { return wsc_next_timeout_ms(get()); }
    /// next_timeout_ms() as a duration; nullopt when nothing is scheduled.
    std::optional<std::chrono::milliseconds> next_timeout() const noexcept {
        int32_t ms = next_timeout_ms();
        if (ms < 0) return std::nullopt;
        return std::chrono::milliseconds(ms);
    }

    /// Starts a timer: `fn` runs on the loop thread after `delay`, then every `interval`
    /// (zero: once), until the returned Timer stops it (or is destroyed, or released and
    /// the Context ends). Throws wsc::Error on failure. Safe from any thread and callbacks.
    Timer start_timer(std::chrono::milliseconds delay, std::chrono::milliseconds interval, std::function<void()> fn) {
        if (!state_) throw Error(WSC_ERR_NULL_ARGUMENT, "the Context is empty (moved from)");
        if (!fn) throw Error(WSC_ERR_NULL_ARGUMENT, "the timer's function is empty");
        const uint32_t interval_ms = detail::ms_u32(interval);
        detail::TimerState *t;
        std::list<detail::TimerState>::iterator it;
        {
            std::lock_guard<std::mutex> lock(state_->timers_mutex);
            it = state_->timers.insert(state_->timers.end(),
                                       detail::TimerState{std::move(fn), state_.get(), interval_ms == 0});
            t = &*it;
        }
        uint64_t id = 0;
        // Not under the lock: the callback may already run, on the loop thread, and take it.
        wsc_result r = wsc_timer_start(state_->raw, detail::ms_u32(delay), interval_ms,
                                       detail::ContextState::on_timer, t, &id);
        if (r != WSC_OK) {
            Error e(r);
            std::list<detail::TimerState> gone;
            {
                std::lock_guard<std::mutex> lock(state_->timers_mutex);
                gone.splice(gone.end(), state_->timers, it);
            }
            throw e;
        }
        {
            std::lock_guard<std::mutex> lock(state_->timers_mutex);
            t->id = id;
            if (t->done) state_->timers_done.store(true, std::memory_order_release);  // fired already
        }
        return Timer(state_, id);
    }

    wsc_context *get() const noexcept { return state_ ? state_->raw : nullptr; }

  private:
    void destroy() noexcept {
        if (!state_) return;
        // The on_close callbacks this runs still see a whole Context.
        wsc_context_free(state_->raw);
        state_->raw = nullptr;
        state_.reset();
    }
    void init(const wsc_context_options *options, std::shared_ptr<const LogHandler> log) {
        state_ = std::make_shared<detail::ContextState>();
        state_->log = std::move(log);
        wsc_result r = wsc_context_new(options, &state_->raw);
        if (r != WSC_OK) throw Error(r);
    }
    void service_ms(int32_t timeout_ms) {
        wsc_result r = wsc_service(get(), timeout_ms);
        if (r != WSC_OK) throw Error(r);
        state_->after_service();
    }
    std::shared_ptr<detail::ContextState> state_;
};

}  // namespace wsc

#endif  // WSC_HPP
