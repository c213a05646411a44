// The emitter's state machine without sockets: a client connection core driven as the channel
// drives it, and a server core standing in for the agent in memory, whose received messages
// are parsed with protoc's EnvelopeBatch. Batching by count and by age, confirmation counts,
// what comes back unwritten, reconnect decisions, a full stream, and the drain.
#include "loggregator/emitter_core.hpp"

#include <loggregator-api/v2/envelope.pb.h>
#include <loggregator-api/v2/ingress.pb.h>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "loggregator/envelope_encoding.hpp"

using namespace mgw::loggregator;
using namespace std::chrono_literals;
namespace grpc = mgw::grpc;
using mgw::core::memory_budget;
using mgw::core::memory_use;

namespace {

const clock::time_point t0 = clock::time_point{} + std::chrono::hours(1000);

// `n` counter envelopes whose timestamps number them from `first`.
parcel envelopes(std::size_t n, std::int64_t first = 0,
                 envelope_source source = envelope_source::push) {
    parcel p;
    p.source = source;
    for (std::size_t i = 0; i < n; ++i) {
        p.add(append_counter_envelope(p.bytes,
                                      {.timestamp_ns = first + static_cast<std::int64_t>(i),
                                       .source_id = {},
                                       .instance_id = {},
                                       .tags = {}},
                                      "c", 1, 0));
    }
    return p;
}

// An agent in memory: a server core that records every envelope of every BatchSender message
// and, when the client half-closes, answers BatchSenderResponse with OK (as the real agent's
// BatchSender returns when Recv sees EOF).
struct agent {
    agent(memory_budget& budget, clock::time_point now, std::uint32_t window)
        : conn(
              [window] {
                  grpc::connection_options o;
                  o.side = grpc::role::server;
                  o.initial_window_bytes = window;
                  return o;
              }(),
              budget, now) {}

    grpc::connection conn;
    bool open = true;
    std::vector<std::string> paths;
    std::vector<std::int64_t> timestamps;  // of every envelope received, in order
    std::vector<int> batch_sizes;
    bool answer_on_half_close = true;
    std::optional<grpc::stream_id> call;

    void handle(std::vector<grpc::event>& events) {
        for (auto& e : events) {
            if (auto* started = std::get_if<grpc::call_started>(&e)) {
                paths.push_back(started->path);
                call = started->stream;
            } else if (auto* m = std::get_if<grpc::message_received>(&e)) {
                loggregator::v2::EnvelopeBatch batch;
                REQUIRE(batch.ParseFromString(m->payload));
                batch_sizes.push_back(batch.batch_size());
                for (const auto& envelope : batch.batch()) {
                    timestamps.push_back(envelope.timestamp());
                }
            } else if (auto* h = std::get_if<grpc::half_closed>(&e)) {
                if (answer_on_half_close) {
                    const std::string response =
                        loggregator::v2::BatchSenderResponse().SerializeAsString();
                    conn.send_message(h->stream, grpc::outgoing_message::copy_of(response));
                    conn.finish(h->stream, grpc::status_code::ok, "");
                }
            }
        }
        events.clear();
    }
};

// The emitter core with a connection driven the way grpc::client_channel drives it.
struct rig {
    explicit rig(queue_options q = {.max_bytes = 1 << 20, .wake_envelopes = 100},
                 std::size_t max_send_queue = 1 << 20, std::uint32_t agent_window = 1 << 20)
        : queue(q, budget),
          core({.batch_size = 100,
                .batch_interval = 100ms,
                .backoff = {.initial = 100ms, .max = 5s, .multiplier = 2.0, .jitter = 0.0}},
               queue, t0),
          send_queue_bytes(max_send_queue),
          window(agent_window) {}

    memory_budget budget{0};
    envelope_queue queue;
    emitter_core core;
    std::size_t send_queue_bytes;
    std::uint32_t window;  // the agent's flow-control window
    clock::time_point now = t0;
    std::optional<grpc::connection> client;
    std::optional<agent> server;
    std::vector<grpc::event> events;
    bool agent_reads = true;  // false: a stalled agent (its socket is not read)
    std::string unread;       // client output the agent has not read yet
    bool closing = false;

    void step() {
        core.on_progress(*client, events, now);
        events.clear();
        if (!closing && core.wants_close()) {
            closing = true;
            client->shutdown(now);
        }
    }

    // Connects as the channel's loop does: an attempt, both prefaces exchanged, on_open.
    void connect() {
        core.attempting();
        grpc::connection_options o;
        o.side = grpc::role::client;
        o.authority = "127.0.0.1:3458";
        o.max_send_queue_bytes = send_queue_bytes;
        client.emplace(o, budget, now);
        server.emplace(budget, now, window);
        closing = false;
        unread.clear();
        pump(false);
        core.on_open(*client, now);
        pump();
    }

    // Moves bytes both ways until nothing moves; `session` false before on_open.
    void pump(bool session = true) {
        for (int i = 0; i < 10000; ++i) {
            bool moved = false;
            std::string out;
            client->take_output(out, 1 << 20, events);
            if (!out.empty()) {
                client->output_written(events);
                unread += out;
                moved = true;
            }
            if (session) {
                step();
            }
            if (agent_reads && !unread.empty() && server->open) {
                std::vector<grpc::event> server_events;
                server->open = server->conn.receive(unread, now, server_events);
                unread.clear();
                server->handle(server_events);
                moved = true;
            }
            out.clear();
            std::vector<grpc::event> server_events;
            server->conn.take_output(out, 1 << 20, server_events);
            if (!out.empty()) {
                server->conn.output_written(server_events);
                client->receive(out, now, events);
                if (session) {
                    step();
                }
                moved = true;
            }
            if (!moved) {
                return;
            }
        }
        FAIL("pump did not settle");
    }

    // Time passes to `t`: the core's timer, as the channel's timer loop runs it.
    void advance(clock::time_point t) {
        now = t;
        if (client) {
            if (now >= client->next_timer()) {
                client->on_timer(now, events);
            }
            step();
            pump();
        }
    }

    // The transport is lost with whatever was not read by the agent; the channel then reports
    // to the core.
    void lose_transport(grpc::client_outcome outcome) {
        client->transport_lost(events);
        step();
        core.connection_ended(outcome, now);
        client.reset();
        server.reset();
    }

    void push(parcel p) {
        queue.push(std::move(p), now);
        if (client) {
            step();  // the channel is poked
            pump();
        }
    }
};

}  // namespace

TEST_CASE("100 envelopes go at once, the rest when the oldest has waited 100 ms") {
    rig r;
    r.connect();
    CHECK(r.core.agent_up());
    REQUIRE(r.server->paths == std::vector<std::string>{"/loggregator.v2.Ingress/BatchSender"});
    r.push(envelopes(250));
    CHECK(r.server->batch_sizes == std::vector<int>{100, 100});
    CHECK(r.core.next_timer() == t0 + 100ms);
    r.advance(t0 + 99ms);
    CHECK(r.server->batch_sizes.size() == 2);
    r.advance(t0 + 100ms);
    CHECK(r.server->batch_sizes == std::vector<int>{100, 100, 50});
    CHECK(r.server->timestamps.size() == 250);
    for (std::size_t i = 0; i < 250; ++i) {
        REQUIRE(r.server->timestamps[i] == static_cast<std::int64_t>(i));
    }
    CHECK(r.core.counters().batches_sent == 3);
    CHECK(r.core.counters().envelopes_sent[0] == 250);
    CHECK(r.core.next_timer() == clock::time_point::max());
    CHECK(r.queue.held_bytes() == 0);
    CHECK(r.budget.leased(memory_use::loggregator) == 0);
}

TEST_CASE("nothing is sent before the connection is open, it all goes on open") {
    rig r;
    r.push(envelopes(30));
    r.push(envelopes(5, 30, envelope_source::bosh));
    r.connect();
    // Due only by age: opening does not flush early.
    CHECK(r.server->batch_sizes.empty());
    r.advance(t0 + 100ms);
    CHECK(r.server->batch_sizes == std::vector<int>{35});
    CHECK(r.core.counters().envelopes_sent[0] == 30);
    CHECK(r.core.counters().envelopes_sent[1] == 5);
}

TEST_CASE("what the connection did not write comes back and goes first on the next one") {
    rig r;
    r.connect();
    r.agent_reads = false;  // written to the socket but the transport dies before it is read
    r.push(envelopes(100, 0));
    CHECK(r.core.counters().batches_sent == 1);  // written: the agent may have it
    // Now a batch the connection takes but never writes.
    std::string out;
    r.queue.push(envelopes(100, 100), r.now);
    r.core.on_progress(*r.client, r.events, r.now);  // queued in the connection, not written
    CHECK(r.client->queued_bytes(1) > 0);
    r.lose_transport({grpc::client_failure::closed, "reset"});
    CHECK(r.core.counters().batches_sent == 1);
    CHECK(r.core.counters().send_errors[static_cast<std::size_t>(send_error::connection)] == 1);
    CHECK_FALSE(r.core.agent_up());
    CHECK(r.core.next_attempt() == t0 + 100ms);
    CHECK(r.queue.held_envelopes() == 100);  // taken back

    // More arrive while disconnected; the one that came back goes first.
    r.push(envelopes(50, 200));
    r.now = r.core.next_attempt();
    r.agent_reads = true;  // the new agent reads
    r.connect();
    r.advance(r.now + 100ms);
    REQUIRE(r.server->batch_sizes == std::vector<int>{100, 50});
    for (std::size_t i = 0; i < 150; ++i) {
        REQUIRE(r.server->timestamps[i] == static_cast<std::int64_t>(100 + i));
    }
    CHECK(r.core.counters().envelopes_sent[0] == 250);
    CHECK(r.core.counters().reconnects == 1);
    CHECK(r.core.counters().connections == 2);
}

TEST_CASE("the agent ending the call ends the connection, counted, with backoff") {
    rig r;
    r.connect();
    r.server->conn.finish(*r.server->call, grpc::status_code::unavailable, "agent stopping");
    r.pump();
    CHECK(r.core.wants_close());
    CHECK_FALSE(r.core.agent_up());
    CHECK(r.core.last_call_status() == grpc::status_code::unavailable);
    CHECK(r.core.last_call_message() == "agent stopping");
    r.core.connection_ended({}, r.now);
    CHECK(r.core.counters().send_errors[static_cast<std::size_t>(send_error::call)] == 1);
    CHECK(r.core.last_error() == send_error::call);
    CHECK(r.core.next_attempt() == t0 + 100ms);

    // Failed attempts grow the delay; TLS failures are told apart.
    r.core.connect_failed(grpc::client_failure::connect, r.now);
    CHECK(r.core.next_attempt() == t0 + 200ms);
    r.core.connect_failed(grpc::client_failure::tls, r.now);
    CHECK(r.core.next_attempt() == t0 + 400ms);
    CHECK(r.core.counters().send_errors[static_cast<std::size_t>(send_error::tls)] == 1);
    CHECK(r.core.counters().send_errors[static_cast<std::size_t>(send_error::connect)] == 1);

    // A connection that stayed up resets the backoff when it ends.
    r.now = t0 + 10s;
    r.connect();
    r.now = t0 + 20s;
    r.lose_transport({grpc::client_failure::protocol, "keepalive_timeout"});
    CHECK(r.core.next_attempt() == t0 + 20s + 100ms);
}

TEST_CASE("the agent's GOAWAY: the call is finished cleanly and the next connection is soon") {
    rig r;
    r.connect();
    r.push(envelopes(10));
    r.server->conn.shutdown(r.now);  // as a draining grpc-go server does
    r.pump();
    // END_STREAM went after the queued batch; the agent answered OK.
    CHECK(r.core.wants_close());
    CHECK(r.core.last_call_status() == grpc::status_code::ok);
    CHECK(r.server->batch_sizes == std::vector<int>{10});
    r.core.connection_ended({}, r.now);
    CHECK(r.core.counters().send_errors == std::array<std::uint64_t, send_error_count>{});
    CHECK(r.core.next_attempt() == r.now + 100ms);
}

TEST_CASE("a stalled agent: the stream fills, the queue holds its bound, then it all flows") {
    rig r({.max_bytes = 64 * 1024, .wake_envelopes = 100}, 8 * 1024, 16 * 1024);
    r.connect();
    r.agent_reads = false;
    std::int64_t next = 0;
    for (int i = 0; i < 200; ++i) {
        r.push(envelopes(100, next));
        next += 100;
        r.advance(r.now + 10ms);
        REQUIRE(r.queue.held_bytes() <= 64 * 1024 + 8 * 1024);
    }
    // Blocked on the stream's send queue: no timer spins meanwhile.
    CHECK(r.core.next_timer() == clock::time_point::max());
    const std::uint64_t dropped = r.queue.dropped(envelope_source::push, drop_reason::queue_full);
    CHECK(dropped > 0);
    CHECK(r.budget.leased(memory_use::loggregator) <= 64 * 1024 + 8 * 1024);

    r.agent_reads = true;
    for (int i = 0; i < 200 && r.queue.held_envelopes() > 0; ++i) {
        r.advance(r.now + 100ms);
    }
    CHECK(r.queue.held_envelopes() == 0);
    CHECK(r.server->timestamps.size() + dropped == 20000);
    CHECK(r.core.counters().envelopes_sent[0] == r.server->timestamps.size());
    // In order, with the dropped ones missing.
    for (std::size_t i = 1; i < r.server->timestamps.size(); ++i) {
        REQUIRE(r.server->timestamps[i] > r.server->timestamps[i - 1]);
    }
}

TEST_CASE("drain: everything goes at once, END_STREAM, and the agent's OK completes it") {
    rig r;
    r.connect();
    r.push(envelopes(30));
    CHECK(r.server->batch_sizes.empty());
    r.core.begin_drain();
    CHECK_FALSE(r.core.drained());
    r.step();  // the drain pokes the channel
    r.pump();
    CHECK(r.server->batch_sizes == std::vector<int>{30});
    CHECK(r.core.drained());
    CHECK(r.core.wants_close());
    r.core.connection_ended({}, r.now);
    CHECK(r.core.drained());
    CHECK(r.core.counters().send_errors == std::array<std::uint64_t, send_error_count>{});
    CHECK(r.core.abandon() == 0);
}

TEST_CASE("drain with the agent unreachable: what is left is dropped as shutdown") {
    rig r;
    r.push(envelopes(10));
    r.core.begin_drain();
    CHECK_FALSE(r.core.drained());
    CHECK(r.core.abandon() == 10);
    CHECK(r.queue.dropped(envelope_source::push, drop_reason::shutdown) == 10);
    CHECK(r.core.drained());
    CHECK(r.budget.leased(memory_use::loggregator) == 0);

    rig idle;
    idle.core.begin_drain();
    CHECK(idle.core.drained());  // nothing to send: no connection needed
}

TEST_CASE("a drain cut off by the transport: nothing confirmed is counted twice") {
    rig r;
    r.connect();
    r.agent_reads = false;
    r.push(envelopes(100));
    r.queue.push(envelopes(20, 100), r.now);
    r.core.begin_drain();
    r.core.on_progress(*r.client, r.events, r.now);
    r.lose_transport({grpc::client_failure::closed, "reset"});
    CHECK_FALSE(r.core.drained());
    CHECK(r.core.abandon() == 20);
    CHECK(r.core.counters().envelopes_sent[0] == 100);
    CHECK(r.queue.dropped(envelope_source::push, drop_reason::shutdown) == 20);
}
