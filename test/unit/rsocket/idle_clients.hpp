// Unit tests (support): real rsocket::connection objects that never touch a socket, for the
// parts of the proxy that only keep, sort and count clients (the registry, the pull's learning,
// the identity outcomes). Their transport carries no byte and they are never run: a test that
// made one do I/O or report to its observer fails.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/strand.hpp>
#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <mgw/core/log.hpp>
#include <mgw/rsocket/connection.hpp>
#include <mgw/rsocket/key_pool.hpp>
#include <mgw/rsocket/transport.hpp>

namespace mgw::rsocket::testing {

class idle_transport final : public transport {
  public:
    explicit idle_transport(std::string name) : name_(std::move(name)) {}

    boost::asio::awaitable<boost::system::error_code> read_frame(std::string&,
                                                                 held_bytes&) override {
        FAIL("an idle client was read from");
        co_return boost::asio::error::operation_aborted;
    }
    boost::asio::awaitable<boost::system::error_code> write_frame(std::string_view) override {
        FAIL("an idle client was written to");
        co_return boost::asio::error::operation_aborted;
    }
    void close() override {}
    boost::asio::awaitable<void> linger(std::chrono::milliseconds) override { co_return; }
    bool length_prefixed() const override { return name_ == "TCP"; }
    std::string_view name() const override { return name_; }
    std::optional<std::chrono::steady_clock::time_point> frame_begun() const override {
        return std::nullopt;
    }
    boost::asio::ip::address remote_address() const override {
        return boost::asio::ip::make_address("127.0.0.1");
    }

  private:
    std::string name_;
};

class unused_observer final : public connection_observer {
  public:
    void connection_ready(const std::shared_ptr<connection>&) override {
        FAIL("an idle client became ready");
    }
    void connection_pushed(connection&, bool, std::string_view) override {
        FAIL("an idle client pushed");
    }
    void connection_failed(connection&, std::string_view) override {
        FAIL("an idle client failed");
    }
    void connection_closed(connection&, std::optional<leased_text>) override {
        FAIL("an idle client closed");
    }
};

// Makes connections with the ids a test chooses. The key pool keeps no stock, so its one worker
// never makes a key.
class idle_clients {
  public:
    std::shared_ptr<connection> make(std::uint64_t id, std::string transport_name = "TCP") {
        return std::make_shared<connection>(boost::asio::make_strand(io_),
                                            std::make_unique<idle_transport>(transport_name), keys_,
                                            connection_options{}, observer_, id);
    }

  private:
    boost::asio::io_context io_;
    prometheus::Registry key_metrics_;
    core::logger key_log_{core::log_level::error, core::log_format::text};
    key_pool keys_{{.bits = 1024, .threads = 1, .schedule = {.stock = 0}}, key_metrics_, key_log_};
    unused_observer observer_;
};

}  // namespace mgw::rsocket::testing
