// wsc.hpp: a small header-only C++17 wrapper over wsc.h. RAII handles and std::function
// callbacks; every call maps to one wsc_* function, errors come back as wsc_result.
//
//   wsc::Context ctx;
//   wsc::Callbacks cb;
//   cb.on_open = [](wsc::Connection &c) { c.send_text("hello"); };
//   cb.on_message = [](wsc::Connection &c, std::string_view data, bool) { c.close(); };
//   auto conn = ctx.connect("ws://127.0.0.1:9001/", std::move(cb));
//   ctx.run();
#ifndef WSC_HPP
#define WSC_HPP

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "wsc.h"

namespace wsc {

/// Thrown by constructors that cannot return a wsc_result.
struct Error : std::runtime_error {
    wsc_result result;
    Error(wsc_result r, const char *what) : std::runtime_error(what), result(r) {}
};

/// A borrowed connection, as callbacks see it (valid during the callback), or an owned one
/// (from Context::connect; released by its destructor).
class Connection {
  public:
    explicit Connection(wsc_connection *raw = nullptr, bool owned = false) : raw_(raw), owned_(owned) {}
    Connection(Connection &&other) noexcept : raw_(std::exchange(other.raw_, nullptr)), owned_(other.owned_) {}
    Connection &operator=(Connection &&other) noexcept {
        if (this != &other) {
            release();
            raw_ = std::exchange(other.raw_, nullptr);
            owned_ = other.owned_;
        }
        return *this;
    }
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;
    ~Connection() { release(); }

    wsc_result send_text(std::string_view text) { return wsc_send_text(raw_, text.data(), text.size()); }
    wsc_result send_binary(const void *data, size_t len) {
        return wsc_send_binary(raw_, static_cast<const uint8_t *>(data), len);
    }
    /// Sends without copying: `bytes` (a std::string, std::vector<uint8_t>, ... anything with
    /// data() and size()) is kept alive until wsc has written it, then let go; the same buffer
    /// may go to many connections. See wsc_send_binary_nocopy.
    template <class Bytes> wsc_result send_binary_nocopy(std::shared_ptr<const Bytes> bytes) {
        return lend(std::move(bytes), false);
    }
    template <class Bytes> wsc_result send_text_nocopy(std::shared_ptr<const Bytes> bytes) {
        return lend(std::move(bytes), true);
    }
    wsc_result ping(std::string_view payload = {}) {
        return wsc_send_ping(raw_, reinterpret_cast<const uint8_t *>(payload.data()), payload.size());
    }
    wsc_result close(uint16_t code = WSC_CLOSE_NORMAL, const char *reason = nullptr) {
        return wsc_close(raw_, code, reason);
    }
    wsc_connection *get() const { return raw_; }

  private:
    void release() {
        if (owned_ && raw_) wsc_connection_free(raw_);
        raw_ = nullptr;
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
    wsc_connection *raw_;
    bool owned_;
};

/// How a connection ended.
struct CloseInfo {
    uint16_t code;
    std::string_view reason;
    wsc_closed_by closed_by;
    bool clean;
};

/// The callbacks; any may be empty. They must not throw (exceptions cannot cross the C
/// library): catch inside them.
struct Callbacks {
    std::function<void(Connection &)> on_open;
    std::function<void(Connection &, std::string_view data, bool is_text)> on_message;
    std::function<void(Connection &, wsc_result, std::string_view message)> on_error;
    std::function<void(Connection &, const CloseInfo &)> on_close;
};

class Context {
  public:
    explicit Context(const wsc_context_options *options = nullptr) {
        wsc_result r = wsc_context_new(options, &raw_);
        if (r != WSC_OK) throw Error(r, wsc_last_error());
    }
    Context(const Context &) = delete;
    Context &operator=(const Context &) = delete;
    ~Context() { wsc_context_free(raw_); }

    /// Starts a connection; throws wsc::Error for a bad URL or options. The callbacks live
    /// until the connection's on_close has run.
    Connection connect(const char *url, Callbacks callbacks, const wsc_connect_options *options = nullptr) {
        auto *state = new Callbacks(std::move(callbacks));
        wsc_callbacks c{};
        c.on_open = [](wsc_connection *raw, void *user) {
            Connection conn(raw);
            if (auto &f = static_cast<Callbacks *>(user)->on_open) f(conn);
        };
        c.on_message = [](wsc_connection *raw, const uint8_t *data, size_t len, bool is_text, void *user) {
            Connection conn(raw);
            if (auto &f = static_cast<Callbacks *>(user)->on_message)
                f(conn, std::string_view(reinterpret_cast<const char *>(data), len), is_text);
        };
        c.on_error = [](wsc_connection *raw, wsc_result result, const char *message, void *user) {
            Connection conn(raw);
            if (auto &f = static_cast<Callbacks *>(user)->on_error) f(conn, result, message);
        };
        c.on_close = [](wsc_connection *raw, uint16_t code, const char *reason, size_t len,
                        wsc_closed_by by, bool clean, void *user) {
            auto *callbacks = static_cast<Callbacks *>(user);
            Connection conn(raw);
            if (callbacks->on_close) callbacks->on_close(conn, CloseInfo{code, {reason, len}, by, clean});
            if (wsc_connection_retry_in_ms(raw) < 0) delete callbacks;  // the last callback
        };
        wsc_connection *raw = nullptr;
        wsc_result r = wsc_connect(raw_, url, options, &c, state, &raw);
        if (r != WSC_OK) {
            delete state;
            throw Error(r, wsc_last_error());
        }
        return Connection(raw, true);
    }

    /// One loop iteration (see wsc_service).
    wsc_result service(int32_t timeout_ms = -1) { return wsc_service(raw_, timeout_ms); }

    /// Runs the loop until every connection has closed.
    void run() {
        while (wsc_context_connection_count(raw_) > 0) wsc_service(raw_, -1);
    }

    wsc_context *get() const { return raw_; }

  private:
    wsc_context *raw_ = nullptr;
};

}  // namespace wsc

#endif  // WSC_HPP
