// RSocket module: one connected client. A coroutine shell on a strand around connection_state:
// reads frames, writes queued frames, keeps alive, sends the key, answers scrapes by deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <mgw/rsocket/connection_state.hpp>
#include <mgw/rsocket/crypto.hpp>
#include <mgw/rsocket/key_pool.hpp>
#include <mgw/rsocket/transport.hpp>

namespace mgw::rsocket {

struct connection_options {
    std::size_t max_text_bytes = 64 << 20;
    std::size_t max_outbound_bytes = 1 << 20;  // queued for a client that does not read
    std::chrono::milliseconds setup_timeout{10000};
    connection_limits limits;
};

enum class scrape_outcome : std::uint8_t {
    success,
    timeout,  // no answer by the deadline: CANCEL sent, the connection stays
    closed,   // the connection is gone (or went while waiting)
    error,    // the client answered with an ERROR frame
    decrypt,  // the answer could not be decrypted / decompressed
    busy,     // too many requests in flight on this connection
};

std::string_view to_string(scrape_outcome outcome);

struct scrape_answer {
    scrape_outcome outcome = scrape_outcome::closed;
    std::string text;    // success: the exposition text
    std::string reason;  // otherwise: bounded description (decrypt error name, ERROR code)
};

class connection;

// What a connection tells its owner; called on the connection's strand.
class connection_observer {
  public:
    // The key went out: the connection can be scraped from now on.
    virtual void connection_ready(const std::shared_ptr<connection>& c) = 0;
    // The client pushed metrics (decrypted) or sent a push that failed (`text` empty).
    virtual void connection_pushed(connection& c, bool ok, std::string_view reason) = 0;
    // A protocol violation or transport failure ended the connection (bounded `reason`).
    virtual void connection_failed(connection& c, std::string_view reason) = 0;
    // The connection ended; `push` is its last pushed text, if any, to be served once.
    virtual void connection_closed(connection& c, std::optional<std::string> push) = 0;

  protected:
    ~connection_observer() = default;
};

class connection : public std::enable_shared_from_this<connection> {
  public:
    // The socket's executor too: I/O completions and every coroutine of the connection
    // (reader, writer, keepalive, pulls) run on this one strand.
    using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;

    connection(strand_type strand, std::unique_ptr<transport> transport, key_pool& keys,
               connection_options options, connection_observer& observer, std::uint64_t id);
    ~connection();

    // Runs the connection until it ends; must run on strand().
    boost::asio::awaitable<void> run();

    // Pulls the client once; run it on strand(). Completes by `deadline`.
    boost::asio::awaitable<scrape_answer> scrape(std::chrono::steady_clock::time_point deadline);

    // Closes the transport (from any thread); run() then ends.
    void stop();

    const strand_type& strand() const { return strand_; }
    std::uint64_t id() const { return id_; }
    std::string_view transport_name() const { return transport_->name(); }
    // SETUP metadata and data (may name the app), valid once ready.
    const std::string& setup_metadata() const { return setup_metadata_; }
    const std::string& setup_data() const { return setup_data_; }

  private:
    struct waiter;

    boost::asio::awaitable<void> read_loop();
    boost::asio::awaitable<void> write_loop();
    boost::asio::awaitable<void> keepalive_loop();
    // After SETUP: the key now, or later through take_key on the strand.
    void request_key();
    void take_key(key_pair key);
    void handle_push(const connection_state::event& e);
    void send(std::string bytes);
    void send_all(std::vector<std::string>& frames);
    void fail(std::string_view reason);
    void wake_waiters();

    strand_type strand_;
    std::unique_ptr<transport> transport_;
    key_pool& keys_;
    std::string peer_;  // fairness_key of the client's address: its place in the key queue
    std::optional<std::uint64_t> key_ticket_;  // queued for a key pair
    connection_options options_;
    connection_observer& observer_;
    std::uint64_t id_;
    connection_state state_;
    std::optional<key_pair> key_;
    std::string setup_metadata_;
    std::string setup_data_;
    std::deque<std::string> outbound_;
    std::size_t outbound_bytes_ = 0;
    boost::asio::steady_timer write_signal_;
    bool stopping_ = false;
    bool closing_ = false;  // flush the queued frames (an ERROR), then end
    bool failed_ = false;
    std::map<std::uint32_t, waiter*> waiters_;
    std::optional<std::string> last_push_;
};

}  // namespace mgw::rsocket
