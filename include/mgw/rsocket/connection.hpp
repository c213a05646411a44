// RSocket module: one connected client. A coroutine shell on a strand around connection_state:
// reads frames, writes queued frames, keeps alive, sends the key, answers scrapes by deadline.
// Every buffer whose size the client decides is leased (connection_memory) before it fills.
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

#include <mgw/core/memory_budget.hpp>
#include <mgw/rsocket/connection_memory.hpp>
#include <mgw/rsocket/connection_state.hpp>
#include <mgw/rsocket/crypto.hpp>
#include <mgw/rsocket/key_pool.hpp>
#include <mgw/rsocket/transport.hpp>

namespace mgw::rsocket {

struct connection_options {
    std::size_t max_text_bytes = 64 << 20;
    std::size_t max_outbound_bytes = 1 << 20;  // queued for a client that does not read
    // Everything the connection holds for its client at once (0: no cap of its own).
    std::size_t max_connection_bytes = std::size_t{128} << 20;
    std::chrono::milliseconds setup_timeout{10000};
    // A frame, once its first byte arrived, must complete within this, whatever keepalive
    // and lifetime the client asked for.
    std::chrono::milliseconds frame_timeout{30000};
    read_limits read;  // the transport's
    connection_limits limits;
};

enum class scrape_outcome : std::uint8_t {
    success,
    timeout,  // no answer by the deadline: CANCEL sent, the connection stays
    closed,   // the connection is gone (or went while waiting)
    error,    // the client answered with an ERROR frame
    decrypt,  // the answer could not be decrypted / decompressed
    busy,     // too many requests in flight on this connection
    memory,   // the answer would pass the connection's or the process's byte budget
};

std::string_view to_string(scrape_outcome outcome);

// Text a client sent, with the bytes it holds leased from the process budget.
struct leased_text {
    std::string text;
    core::memory_lease lease;
};

struct scrape_answer {
    scrape_outcome outcome = scrape_outcome::closed;
    leased_text text;  // success: the exposition text
    // Otherwise: why, from a fixed set (a decrypt error, an RSocket error code's name, ...):
    // it becomes a label value, so it is never text a client chose.
    std::string_view reason;
};

class connection;

// What a connection tells its owner; called on the connection's strand.
class connection_observer {
  public:
    // The key went out: the connection can be scraped from now on.
    virtual void connection_ready(const std::shared_ptr<connection>& c) = 0;
    // The client pushed metrics: held (`ok`), or not (`reason`, from a fixed set).
    virtual void connection_pushed(connection& c, bool ok, std::string_view reason) = 0;
    // A protocol violation, a limit or a transport failure ended the connection (`reason`
    // from a fixed set).
    virtual void connection_failed(connection& c, std::string_view reason) = 0;
    // The connection ended; `push` is its last pushed text, if any, to be served once.
    virtual void connection_closed(connection& c, std::optional<leased_text> push) = 0;

  protected:
    ~connection_observer() = default;
};

class connection : public std::enable_shared_from_this<connection> {
  public:
    // The socket's executor too: I/O completions and every coroutine of the connection
    // (reader, writer, keepalive, pulls) run on this one strand.
    using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;
    using clock_type = std::chrono::steady_clock;

    // `budget` null: nothing is leased (only the per-connection cap applies).
    connection(strand_type strand, std::unique_ptr<transport> transport, key_pool& keys,
               connection_options options, connection_observer& observer, std::uint64_t id,
               core::memory_budget* budget = nullptr);
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
    // SETUP metadata and data (they may carry an identity proof), valid once ready; each kept
    // up to max_proof_bytes + 1 bytes, enough to tell a proof from an oversized one.
    const std::string& setup_metadata() const { return setup_metadata_; }
    const std::string& setup_data() const { return setup_data_; }
    // WebSocket: the upgrade request's Authorization header; empty on TCP.
    std::string_view authorization() const { return transport_->authorization(); }

  private:
    struct waiter;

    boost::asio::awaitable<void> read_loop();
    boost::asio::awaitable<void> write_loop();
    boost::asio::awaitable<void> keepalive_loop();
    // After SETUP: the key now, or later through take_key on the strand.
    void request_key();
    void take_key(key_pair key);
    void handle_push(const connection_state::event& e);
    // Decrypts a reply or a push into `text`, its bytes reserved in `bytes` before they are
    // written. The reason it failed otherwise, from a fixed set ("memory": the reservation).
    std::optional<std::string_view> open_payload(std::string_view metadata, std::string_view data,
                                                 held_bytes& bytes, std::string& text);
    void send(std::string bytes);
    void send_all(std::vector<std::string>& frames);
    void fail(std::string_view reason);
    // Closes the connection with an ERROR frame for a limit it passed: the frame goes out,
    // then every coroutine ends.
    void refuse(std::string_view message, std::string_view counter);
    // A frame begun longer than frame_timeout ago.
    bool frame_overdue(clock_type::time_point now) const;
    void wake_waiters();

    strand_type strand_;
    // Before every buffer it accounts for: destroyed after them.
    connection_memory memory_;
    std::unique_ptr<transport> transport_;
    key_pool& keys_;
    std::string peer_;  // fairness_key of the client's address: its place in the key queue
    std::optional<std::uint64_t> key_ticket_;  // queued for a key pair
    connection_options options_;
    connection_observer& observer_;
    std::uint64_t id_;
    connection_state state_;
    std::optional<reply_decryptor> decryptor_;  // its key pair, once granted
    std::string setup_metadata_;
    std::string setup_data_;
    std::string frame_;            // the frame being read
    held_bytes frame_bytes_;       // its capacity
    held_bytes reassembly_bytes_;  // partial fragmented messages
    std::deque<std::string> outbound_;
    std::size_t outbound_size_ = 0;
    held_bytes outbound_bytes_;
    boost::asio::steady_timer write_signal_;
    bool stopping_ = false;
    bool closing_ = false;  // flush the queued frames (an ERROR), then end
    bool failed_ = false;
    bool refused_ = false;  // an ERROR frame for a passed limit went out: linger, then close
    std::map<std::uint32_t, waiter*> waiters_;
    std::optional<std::string> last_push_;
    held_bytes last_push_bytes_;
};

}  // namespace mgw::rsocket
