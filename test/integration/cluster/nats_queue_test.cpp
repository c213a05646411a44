// Integration tests: nats::client's queue subscriptions (cluster mode's HM event distribution,
// issue 15) against a real nats-server on loopback: members of one queue group share a
// subject's messages, another group gets its own copy, and an unsubscribed member gets no more.
#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <catch2/catch.hpp>
#include <nats/nats.h>
#include <prometheus/registry.h>

#include <mgw/core/log.hpp>
#include <mgw/nats/client.hpp>

#include "support/nats_server.hpp"

using namespace std::chrono_literals;
namespace asio = boost::asio;
using mgw::integration::free_port;
using mgw::integration::nats_server;
using mgw::integration::wait_until;

namespace {

// One gateway's NATS side: an io_context on its own thread, a strand and the client, and the
// payloads its queue subscription received.
class member {
  public:
    explicit member(const std::string& url)
        : strand_(asio::make_strand(ioc_)),
          guard_(ioc_.get_executor()),
          log_(mgw::core::log_level::error) {
        mgw::nats::client_options options;
        options.servers = {url};
        client_ = std::make_unique<mgw::nats::client>(strand_, options, log_, registry_);
        client_->start();
        thread_ = std::thread([this] { ioc_.run(); });
    }

    ~member() {
        on_strand([this] { client_->close(); });
        on_strand([] {});  // the client's deferred destroy was posted before this
        guard_.reset();
        ioc_.stop();
        thread_.join();
    }

    void on_strand(std::function<void()> f) {
        std::promise<void> done;
        asio::post(strand_, [&] {
            f();
            done.set_value();
        });
        done.get_future().wait();
    }

    bool connected() {
        bool up = false;
        on_strand([&] { up = client_->connected(); });
        return up;
    }

    mgw::nats::client::subscription_id join(const std::string& subject, const std::string& queue) {
        mgw::nats::client::subscription_id id = 0;
        on_strand([&] {
            id = client_->queue_subscribe(subject, queue, [this](mgw::nats::message m) {
                const std::lock_guard lock(mutex_);
                received_.push_back(std::move(m.data));
            });
        });
        return id;
    }

    void leave(mgw::nats::client::subscription_id id) {
        on_strand([&] { client_->unsubscribe(id); });
    }

    std::vector<std::string> received() {
        const std::lock_guard lock(mutex_);
        return received_;
    }

  private:
    asio::io_context ioc_;
    asio::strand<asio::io_context::executor_type> strand_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    mgw::core::logger log_;
    prometheus::Registry registry_;
    std::unique_ptr<mgw::nats::client> client_;
    std::thread thread_;
    std::mutex mutex_;
    std::vector<std::string> received_;
};

// The ingest node's side: a plain nats.c connection.
class publisher {
  public:
    explicit publisher(const std::string& url) {
        if (natsConnection_ConnectTo(&nc_, url.c_str()) != NATS_OK) {
            throw std::runtime_error("publisher cannot connect");
        }
    }
    ~publisher() { natsConnection_Destroy(nc_); }

    void publish(const std::string& subject, int first, int count) {
        for (int i = first; i < first + count; ++i) {
            const std::string data = "event-" + std::to_string(i);
            REQUIRE(natsConnection_PublishString(nc_, subject.c_str(), data.c_str()) == NATS_OK);
        }
        REQUIRE(natsConnection_Flush(nc_) == NATS_OK);
    }

  private:
    natsConnection* nc_ = nullptr;
};

std::set<std::string> events(int first, int count) {
    std::set<std::string> out;
    for (int i = first; i < first + count; ++i) {
        out.insert("event-" + std::to_string(i));
    }
    return out;
}

}  // namespace

TEST_CASE("queue subscriptions share a subject per group, and an unsubscribed member gets none") {
    nats_server server(free_port());
    member m1(server.url());
    member m2(server.url());
    member other(server.url());
    REQUIRE(wait_until([&] { return m1.connected() && m2.connected() && other.connected(); }, 5s));
    const std::string subject = "mgw.t.hm.ev";
    const auto s1 = m1.join(subject, "hm.aaaaaaaaaaaaaaaa");
    REQUIRE(s1 != 0);
    REQUIRE(m2.join(subject, "hm.aaaaaaaaaaaaaaaa") != 0);
    REQUIRE(other.join(subject, "hm.bbbbbbbbbbbbbbbb") != 0);
    // The SUBs travel through each client's event loop; the server has them well within this.
    std::this_thread::sleep_for(300ms);

    publisher pub(server.url());
    pub.publish(subject, 0, 200);
    REQUIRE(wait_until([&] { return m1.received().size() + m2.received().size() >= 200; }, 5s));
    REQUIRE(wait_until([&] { return other.received().size() >= 200; }, 5s));
    std::this_thread::sleep_for(200ms);  // a duplicate would have arrived by now
    const auto r1 = m1.received();
    const auto r2 = m2.received();
    std::set<std::string> shared(r1.begin(), r1.end());
    for (const auto& e : r2) {
        CHECK(shared.insert(e).second);  // no event reached both members
    }
    CHECK(shared == events(0, 200));
    CHECK(r1.size() + r2.size() == 200);
    const auto r3 = other.received();
    CHECK(std::set<std::string>(r3.begin(), r3.end()) == events(0, 200));

    // m1 leaves its group: m2 gets every later event, m1 none.
    m1.leave(s1);
    m1.leave(s1);  // twice is harmless
    std::this_thread::sleep_for(300ms);
    pub.publish(subject, 200, 50);
    REQUIRE(wait_until([&] { return m2.received().size() >= r2.size() + 50; }, 5s));
    std::this_thread::sleep_for(200ms);
    CHECK(m1.received().size() == r1.size());
    const auto after = m2.received();
    CHECK(std::set<std::string>(after.begin() + static_cast<std::ptrdiff_t>(r2.size()),
                                after.end()) == events(200, 50));
}
