// The connection core without sockets: a client core and a server core exchange bytes in
// memory (or raw frames are fed to the server), and the events and counters are checked.
#include <catch2/catch.hpp>

#include <mgw/grpc/connection.hpp>

#include "h2_frames.hpp"

using namespace mgw::grpc;
using namespace std::chrono_literals;
using mgw::core::memory_budget;
using mgw::core::memory_use;

namespace {

template <typename T>
std::vector<T> of(const std::vector<event>& events) {
    std::vector<T> out;
    for (const event& e : events) {
        if (const T* x = std::get_if<T>(&e)) {
            out.push_back(*x);
        }
    }
    return out;
}

struct side {
    side(connection_options options, memory_budget& budget, clock::time_point now)
        : conn(std::move(options), budget, now) {}
    connection conn;
    std::vector<event> events;
    bool open = true;
};

connection_options server_options() {
    connection_options o;
    o.side = role::server;
    return o;
}

connection_options client_options() {
    connection_options o;
    o.side = role::client;
    o.authority = "127.0.0.1:25595";
    return o;
}

// Moves bytes both ways until neither side has anything to send. `deliver_to_client` false
// leaves the server's output unwritten (a client that does not read).
void pump(side& client, side& server, clock::time_point now, bool deliver_to_client = true) {
    for (int i = 0; i < 1000; ++i) {
        bool moved = false;
        std::string out;
        client.conn.take_output(out, 1 << 20, client.events);
        if (!out.empty()) {
            client.conn.output_written(client.events);
            if (server.open) {
                server.open = server.conn.receive(out, now, server.events);
            }
            moved = true;
        }
        if (deliver_to_client) {
            out.clear();
            server.conn.take_output(out, 1 << 20, server.events);
            if (!out.empty()) {
                server.conn.output_written(server.events);
                if (client.open) {
                    client.open = client.conn.receive(out, now, client.events);
                }
                moved = true;
            }
        }
        if (!moved) {
            return;
        }
    }
    FAIL("pump did not settle");
}

const clock::time_point t0 = clock::time_point{} + 10000h;

}  // namespace

TEST_CASE("a server-streaming call: request, metadata, messages and OK trailers") {
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    metadata md;
    md.add("authorization", "bearer abc");
    const auto id = client.conn.start_call("/definitions.Egress/BoshMetrics", md, 45s, t0);
    REQUIRE(id);
    REQUIRE(client.conn.send_message(*id, outgoing_message::copy_of("request")) ==
            send_result::queued);
    client.conn.close_send(*id);
    pump(client, server, t0);

    const auto calls = of<call_started>(server.events);
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].path == "/definitions.Egress/BoshMetrics");
    CHECK(calls[0].authority == "127.0.0.1:25595");
    CHECK(calls[0].headers.find("authorization") == "bearer abc");
    CHECK_FALSE(calls[0].headers.find("te"));
    REQUIRE(calls[0].deadline);
    CHECK(*calls[0].deadline == t0 + 45s);
    const auto requests = of<message_received>(server.events);
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].payload == "request");
    CHECK(of<half_closed>(server.events).size() == 1);

    const stream_id s = calls[0].stream;
    for (int i = 0; i < 100; ++i) {
        REQUIRE(
            server.conn.send_message(s, outgoing_message::copy_of("event " + std::to_string(i))) ==
            send_result::queued);
    }
    server.conn.finish(s, status_code::ok, "");
    pump(client, server, t0);

    CHECK(of<response_started>(client.events).size() == 1);
    const auto messages = of<message_received>(client.events);
    REQUIRE(messages.size() == 100);
    CHECK(messages[0].payload == "event 0");
    CHECK(messages[99].payload == "event 99");
    const auto finished = of<call_finished>(client.events);
    REQUIRE(finished.size() == 1);
    CHECK(finished[0].status == status_code::ok);
    CHECK(of<stream_closed>(server.events).size() == 1);
    CHECK_FALSE(of<stream_closed>(server.events)[0].reset);
    CHECK(of<messages_undelivered>(server.events).empty());
    CHECK(server.conn.counters().messages_sent == 100);
    CHECK(server.conn.open_streams() == 0);
    CHECK(budget.leased(memory_use::grpc_streams) == 0);
}

TEST_CASE(
    "an error before any message is a Trailers-Only response with a percent-encoded message") {
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    const auto id = client.conn.start_call("/x/Y", {}, std::nullopt, t0);
    client.conn.send_message(*id, outgoing_message::copy_of(""));
    client.conn.close_send(*id);
    pump(client, server, t0);
    const auto calls = of<call_started>(server.events);
    REQUIRE(calls.size() == 1);
    CHECK_FALSE(calls[0].deadline);
    server.conn.finish(calls[0].stream, status_code::permission_denied,
                       "Authorization token is invalid: 100% expired\n");
    pump(client, server, t0);
    CHECK(of<response_started>(client.events).empty());
    const auto finished = of<call_finished>(client.events);
    REQUIRE(finished.size() == 1);
    CHECK(finished[0].status == status_code::permission_denied);
    CHECK(finished[0].message == "Authorization token is invalid: 100% expired\n");
}

TEST_CASE("the server ends a call at its deadline and gives back what was not written") {
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    const auto id = client.conn.start_call("/a/B", {}, 2s, t0);
    client.conn.send_message(*id, outgoing_message::copy_of("r"));
    client.conn.close_send(*id);
    pump(client, server, t0);
    const stream_id s = of<call_started>(server.events).at(0).stream;
    REQUIRE(server.conn.next_timer() <= t0 + 2s);
    server.conn.send_message(s, outgoing_message::copy_of("delivered"));
    pump(client, server, t0);
    server.conn.send_message(s, outgoing_message::copy_of("late 1"));
    server.conn.send_message(s, outgoing_message::copy_of("late 2"));
    server.events.clear();
    server.conn.on_timer(t0 + 2s, server.events);
    const auto undelivered = of<messages_undelivered>(server.events);
    REQUIRE(undelivered.size() == 1);
    CHECK(undelivered[0].messages.size() == 2);
    pump(client, server, t0 + 2s);
    const auto finished = of<call_finished>(client.events);
    REQUIRE(finished.size() == 1);
    CHECK(finished[0].status == status_code::deadline_exceeded);
    CHECK(of<message_received>(client.events).size() == 1);
}

TEST_CASE("the client's own deadline cancels the call with DEADLINE_EXCEEDED") {
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    const auto id = client.conn.start_call("/a/B", {}, 1s, t0);
    client.conn.close_send(*id);
    pump(client, server, t0);
    client.conn.on_timer(t0 + 1s, client.events);
    pump(client, server, t0 + 1s);
    const auto finished = of<call_finished>(client.events);
    REQUIRE(finished.size() == 1);
    CHECK(finished[0].status == status_code::deadline_exceeded);
    const auto closed = of<stream_closed>(server.events);
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].reset);
}

TEST_CASE("a stream the client cancels gives back every message not yet written") {
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    const auto id = client.conn.start_call("/a/B", {}, std::nullopt, t0);
    client.conn.close_send(*id);
    pump(client, server, t0);
    const stream_id s = of<call_started>(server.events).at(0).stream;
    server.conn.send_message(s, outgoing_message::copy_of("one"));
    pump(client, server, t0);
    REQUIRE(of<message_received>(client.events).size() == 1);

    // Two more: one handed to the transport but not confirmed written, one still queued.
    server.conn.send_message(s, outgoing_message::copy_of("two"));
    std::string unwritten;
    server.conn.take_output(unwritten, 1 << 20, server.events);
    REQUIRE(!unwritten.empty());
    server.conn.send_message(s, outgoing_message::copy_of("three"));
    CHECK(server.conn.queued_bytes(s) == 2 * 5 + 3 + 5);

    client.conn.reset(*id, 8);
    std::string rst;
    client.conn.take_output(rst, 1 << 20, client.events);
    server.events.clear();
    server.conn.receive(rst, t0, server.events);
    std::string after;
    server.conn.take_output(after, 1 << 20, server.events);
    const auto undelivered = of<messages_undelivered>(server.events);
    REQUIRE(undelivered.size() == 1);
    REQUIRE(undelivered[0].messages.size() == 2);
    CHECK(undelivered[0].messages[0].framed.substr(5) == "two");
    CHECK(undelivered[0].messages[1].framed.substr(5) == "three");
    const auto closed = of<stream_closed>(server.events);
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].reset);
    CHECK(closed[0].h2_error == 8);
    CHECK(budget.leased(memory_use::grpc_streams) == 0);
}

TEST_CASE("a lost transport reports the messages of the write in flight undelivered") {
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    const auto id = client.conn.start_call("/a/B", {}, std::nullopt, t0);
    client.conn.close_send(*id);
    pump(client, server, t0);
    const stream_id s = of<call_started>(server.events).at(0).stream;
    server.conn.send_message(s, outgoing_message::copy_of("in flight"));
    server.conn.finish(s, status_code::ok, "");
    std::string unwritten;
    server.events.clear();
    server.conn.take_output(unwritten, 1 << 20, server.events);
    // The stream closed when its trailers were produced, but the write never completed.
    REQUIRE(of<stream_closed>(server.events).size() == 1);
    server.conn.transport_lost(server.events);
    const auto undelivered = of<messages_undelivered>(server.events);
    REQUIRE(undelivered.size() == 1);
    CHECK(undelivered[0].messages.at(0).framed.substr(5) == "in flight");
}

TEST_CASE("the send queue is bounded per stream and says when it has room again") {
    memory_budget budget(0);
    auto options = server_options();
    options.max_send_queue_bytes = 1000;
    side client(client_options(), budget, t0);
    side server(options, budget, t0);
    const auto id = client.conn.start_call("/a/B", {}, std::nullopt, t0);
    client.conn.close_send(*id);
    pump(client, server, t0);
    const stream_id s = of<call_started>(server.events).at(0).stream;
    const std::string payload(95, 'x');  // 100 bytes framed
    int queued = 0;
    while (server.conn.send_message(s, outgoing_message::copy_of(payload)) == send_result::queued) {
        ++queued;
    }
    CHECK(queued == 10);
    CHECK(server.conn.send_room(s) == 0);
    CHECK(budget.leased(memory_use::grpc_streams) == 1000);
    server.events.clear();
    pump(client, server, t0);
    CHECK(of<stream_writable>(server.events).size() == 1);
    CHECK(server.conn.send_room(s) == 1000);
    CHECK(of<message_received>(client.events).size() == 10);
}

TEST_CASE("after a refused send the stream has no room until it is writable again") {
    // A caller with a message larger than the room left must not see room and retry at once
    // (the bench found handlers spinning on that).
    memory_budget budget(0);
    auto options = server_options();
    options.max_send_queue_bytes = 1000;
    side client(client_options(), budget, t0);
    side server(options, budget, t0);
    const auto id = client.conn.start_call("/a/B", {}, std::nullopt, t0);
    client.conn.close_send(*id);
    pump(client, server, t0);
    const stream_id s = of<call_started>(server.events).at(0).stream;
    REQUIRE(server.conn.send_message(s, outgoing_message::copy_of(std::string(895, 'x'))) ==
            send_result::queued);
    CHECK(server.conn.send_room(s) == 100);
    CHECK(server.conn.send_message(s, outgoing_message::copy_of(std::string(195, 'y'))) ==
          send_result::full);
    CHECK(server.conn.send_room(s) == 0);
    server.events.clear();
    pump(client, server, t0);
    CHECK(of<stream_writable>(server.events).size() == 1);
    CHECK(server.conn.send_room(s) == 1000);
}

TEST_CASE("flow control: a client that does not read stops the stream at its window") {
    memory_budget budget(0);
    auto copts = client_options();
    copts.initial_window_bytes = 65535;
    side client(copts, budget, t0);
    side server(server_options(), budget, t0);
    const auto id = client.conn.start_call("/a/B", {}, std::nullopt, t0);
    client.conn.close_send(*id);
    pump(client, server, t0);
    const stream_id s = of<call_started>(server.events).at(0).stream;
    const std::string payload(995, 'x');
    for (int i = 0; i < 200; ++i) {
        REQUIRE(server.conn.send_message(s, outgoing_message::copy_of(payload)) ==
                send_result::queued);
    }
    std::string out;
    server.conn.take_output(out, 1 << 22, server.events);
    // Only the client's 64 KiB window left: the rest waits in the queue.
    CHECK(out.size() < 70000);
    CHECK(server.conn.queued_bytes(s) == 200 * 1000);
    server.conn.output_written(server.events);
    CHECK(server.conn.queued_bytes(s) > 200 * 1000 - 70000);
}

TEST_CASE("the memory budget refuses a stream's queue past the ceiling") {
    memory_budget budget(1500);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    const auto id = client.conn.start_call("/a/B", {}, std::nullopt, t0);
    client.conn.close_send(*id);
    pump(client, server, t0);
    const stream_id s = of<call_started>(server.events).at(0).stream;
    CHECK(server.conn.send_message(s, outgoing_message::copy_of(std::string(995, 'x'))) ==
          send_result::queued);
    CHECK(server.conn.send_message(s, outgoing_message::copy_of(std::string(995, 'x'))) ==
          send_result::memory);
    CHECK(server.conn.counters().refusals[static_cast<std::size_t>(stream_refusal::memory)] == 1);
    CHECK(budget.refusals(memory_use::grpc_streams) == 1);
}

TEST_CASE("a request message over the limit is refused with RESOURCE_EXHAUSTED") {
    memory_budget budget(0);
    auto options = server_options();
    options.max_receive_message_bytes = 1024;
    side client(client_options(), budget, t0);
    side server(options, budget, t0);
    const auto id = client.conn.start_call("/a/B", {}, std::nullopt, t0);
    client.conn.send_message(*id, outgoing_message::copy_of(std::string(1025, 'x')));
    client.conn.close_send(*id);
    pump(client, server, t0);
    CHECK(of<message_received>(server.events).empty());
    const auto finished = of<call_finished>(client.events);
    REQUIRE(finished.size() == 1);
    CHECK(finished[0].status == status_code::resource_exhausted);
    CHECK(server.conn.counters().refusals[static_cast<std::size_t>(stream_refusal::message_size)] ==
          1);
}

TEST_CASE("a compressed request message is UNIMPLEMENTED") {
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    const auto id = client.conn.start_call("/a/B", {}, std::nullopt, t0);
    auto bytes = std::make_shared<const std::string>(std::string("\1\0\0\0\3abc", 8));
    client.conn.send_message(*id, outgoing_message{bytes, *bytes});
    client.conn.close_send(*id);
    pump(client, server, t0);
    const auto finished = of<call_finished>(client.events);
    REQUIRE(finished.size() == 1);
    CHECK(finished[0].status == status_code::unimplemented);
}

TEST_CASE("grpc-encoding other than identity is UNIMPLEMENTED with grpc-accept-encoding") {
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    metadata md;
    md.add("grpc-encoding", "gzip");
    const auto id = client.conn.start_call("/a/B", md, std::nullopt, t0);
    client.conn.close_send(*id);
    pump(client, server, t0);
    CHECK(of<call_started>(server.events).empty());
    const auto finished = of<call_finished>(client.events);
    REQUIRE(finished.size() == 1);
    CHECK(finished[0].status == status_code::unimplemented);
    CHECK(finished[0].trailers.find("grpc-accept-encoding") == "identity");
}

TEST_CASE("a malformed grpc-timeout is INTERNAL, as grpc-go answers it") {
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    metadata md;
    md.add("grpc-timeout", "forever");
    const auto id = client.conn.start_call("/a/B", md, std::nullopt, t0);
    client.conn.close_send(*id);
    pump(client, server, t0);
    const auto finished = of<call_finished>(client.events);
    REQUIRE(finished.size() == 1);
    CHECK(finished[0].status == status_code::internal);
    CHECK(finished[0].message == "malformed grpc-timeout: forever");
}

TEST_CASE("a grpc-timeout beyond the clock's range is no deadline, not an overflow") {
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    metadata md;
    md.add("grpc-timeout", "99999999H");
    const auto id = client.conn.start_call("/a/B", md, std::nullopt, t0);
    client.conn.close_send(*id);
    pump(client, server, t0);
    const auto calls = of<call_started>(server.events);
    REQUIRE(calls.size() == 1);
    CHECK_FALSE(calls[0].deadline);
    CHECK(server.conn.next_timer() == t0 + 60s);  // only the keepalive
}

TEST_CASE("an HPACK bomb is refused by the decoded header list size") {
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    metadata md;
    // Identical fields are indexed once and then sent as one byte each: ~60 KB decoded from
    // about 1 KB on the wire.
    for (int i = 0; i < 60; ++i) {
        md.add("x-bomb", std::string(1000, 'b'));
    }
    const auto id = client.conn.start_call("/a/B", md, std::nullopt, t0);
    client.conn.close_send(*id);
    pump(client, server, t0);
    CHECK(of<call_started>(server.events).empty());
    const auto finished = of<call_finished>(client.events);
    REQUIRE(finished.size() == 1);
    CHECK(finished[0].status == status_code::resource_exhausted);
    CHECK(server.conn.counters()
              .refusals[static_cast<std::size_t>(stream_refusal::header_list_size)] == 1);
    // The connection goes on.
    const auto next = client.conn.start_call("/a/B", {}, std::nullopt, t0);
    client.conn.close_send(*next);
    pump(client, server, t0);
    CHECK(of<call_started>(server.events).size() == 1);
}

TEST_CASE("streams beyond SETTINGS_MAX_CONCURRENT_STREAMS are refused and counted") {
    memory_budget budget(0);
    auto options = server_options();
    options.max_concurrent_streams = 2;
    side client(client_options(), budget, t0);
    side server(options, budget, t0);
    // All three leave before the client has seen the server's SETTINGS.
    for (int i = 0; i < 3; ++i) {
        const auto id = client.conn.start_call("/a/B", {}, std::nullopt, t0);
        client.conn.close_send(*id);
    }
    pump(client, server, t0);
    CHECK(of<call_started>(server.events).size() == 2);
    const auto finished = of<call_finished>(client.events);
    REQUIRE(finished.size() == 1);
    CHECK(finished[0].status == status_code::unavailable);
    CHECK(server.conn.counters()
              .refusals[static_cast<std::size_t>(stream_refusal::too_many_streams)] == 1);
}

TEST_CASE("rapid reset: streams opened and cancelled faster than the budget end the connection") {
    memory_budget budget(0);
    auto options = server_options();
    options.reset_burst = 50;
    options.resets_per_second = 5;
    side client(client_options(), budget, t0);
    side server(options, budget, t0);
    for (int i = 0; i < 60 && server.open; ++i) {
        const auto id = client.conn.start_call("/a/B", {}, std::nullopt, t0);
        REQUIRE(id);
        std::string out;
        client.conn.take_output(out, 1 << 20, client.events);
        client.conn.output_written(client.events);
        client.conn.reset(*id, 8);
        client.conn.take_output(out, 1 << 20, client.events);
        client.conn.output_written(client.events);
        server.open = server.conn.receive(out, t0, server.events);
    }
    CHECK_FALSE(server.open);
    REQUIRE(server.conn.failure() == connection_failure::rapid_reset);
    std::string goaway;
    server.conn.take_output(goaway, 1 << 20, server.events);
    const auto frames = test_h2::parse_frames(goaway);
    REQUIRE_FALSE(frames.empty());
    CHECK(frames.back().type == 7);
    CHECK(test_h2::goaway_error(frames.back()) == 11);  // ENHANCE_YOUR_CALM
}

TEST_CASE("a ping flood is sent away with too_many_pings, 10 s pings are fine") {
    memory_budget budget(0);
    side server(server_options(), budget, t0);
    std::string preface = test_h2::client_preface();
    REQUIRE(server.conn.receive(preface, t0, server.events));
    // The forwarder: a ping every 10 s on an idle connection.
    for (int i = 0; i < 30; ++i) {
        REQUIRE(server.conn.receive(test_h2::ping(i), t0 + i * 10s, server.events));
    }
    // A flood.
    bool open = true;
    for (int i = 0; i < 10 && open; ++i) {
        open = server.conn.receive(test_h2::ping(100 + i), t0 + 300s, server.events);
    }
    CHECK_FALSE(open);
    REQUIRE(server.conn.failure() == connection_failure::ping_flood);
    std::string out;
    server.conn.take_output(out, 1 << 20, server.events);
    const auto frames = test_h2::parse_frames(out);
    REQUIRE(frames.back().type == 7);
    CHECK(test_h2::goaway_error(frames.back()) == 11);
    CHECK(frames.back().payload.substr(8) == "too_many_pings");
}

TEST_CASE("a SETTINGS flood ends the connection") {
    memory_budget budget(0);
    side server(server_options(), budget, t0);
    REQUIRE(server.conn.receive(test_h2::client_preface(), t0, server.events));
    bool open = true;
    int sent = 0;
    while (open && sent < 1000) {
        open = server.conn.receive(test_h2::settings(), t0, server.events);
        ++sent;
    }
    CHECK_FALSE(open);
    CHECK(sent < 100);
    CHECK(server.conn.failure() == connection_failure::settings_flood);
}

TEST_CASE("an empty DATA frame flood ends the connection") {
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    const auto id = client.conn.start_call("/a/B", {}, std::nullopt, t0);
    pump(client, server, t0);
    bool open = true;
    int sent = 0;
    while (open && sent < 1000) {
        open = server.conn.receive(test_h2::empty_data(*id), t0, server.events);
        ++sent;
    }
    CHECK_FALSE(open);
    CHECK(server.conn.failure() == connection_failure::empty_frame_flood);
}

TEST_CASE("garbage instead of the client preface is bad_preface") {
    memory_budget budget(0);
    side server(server_options(), budget, t0);
    CHECK_FALSE(server.conn.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n", t0, server.events));
    CHECK(server.conn.failure() == connection_failure::bad_preface);
}

TEST_CASE("a request that is not gRPC gets an HTTP status, not a call") {
    memory_budget budget(0);
    side server(server_options(), budget, t0);
    std::string bytes = test_h2::client_preface();
    bytes += test_h2::request_headers(1, {{":method", "GET"},
                                          {":scheme", "https"},
                                          {":path", "/definitions.Egress/BoshMetrics"},
                                          {":authority", "x"}});
    bytes += test_h2::request_headers(3, {{":method", "POST"},
                                          {":scheme", "https"},
                                          {":path", "/definitions.Egress/BoshMetrics"},
                                          {":authority", "x"},
                                          {"content-type", "application/json"}});
    REQUIRE(server.conn.receive(bytes, t0, server.events));
    CHECK(of<call_started>(server.events).empty());
    std::string out;
    server.conn.take_output(out, 1 << 20, server.events);
    const auto statuses = test_h2::response_statuses(out);
    CHECK(statuses == std::vector<std::string>{"405", "415"});
    CHECK(server.conn.counters().refusals[static_cast<std::size_t>(stream_refusal::not_grpc)] == 2);
}

TEST_CASE("keepalive: an idle peer is pinged, and dropped when the ACK does not come") {
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    pump(client, server, t0);
    CHECK(server.conn.next_timer() == t0 + 60s);
    server.conn.on_timer(t0 + 60s, server.events);
    pump(client, server, t0 + 60s);
    CHECK(server.conn.counters().pings_sent == 1);
    CHECK_FALSE(server.conn.closing());
    // Answered: the next ping is due a minute after the ACK.
    CHECK(server.conn.next_timer() == t0 + 120s);
    server.conn.on_timer(t0 + 120s, server.events);
    std::string unread;
    server.conn.take_output(unread, 1 << 20, server.events);
    server.conn.on_timer(t0 + 140s, server.events);
    CHECK(server.conn.closing());
    CHECK(server.conn.failure() == connection_failure::keepalive_timeout);
}

TEST_CASE("drain: GOAWAY, the open call goes on, then the connection ends") {
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    const auto id = client.conn.start_call("/a/B", {}, std::nullopt, t0);
    client.conn.close_send(*id);
    pump(client, server, t0);
    const stream_id s = of<call_started>(server.events).at(0).stream;
    server.conn.shutdown(t0);
    pump(client, server, t0);
    REQUIRE(of<goaway_received>(client.events).size() == 1);
    server.conn.on_timer(t0 + 1s, server.events);
    pump(client, server, t0 + 1s);
    REQUIRE(of<goaway_received>(client.events).size() == 2);
    CHECK(of<goaway_received>(client.events)[1].last_stream_id == s);
    CHECK_FALSE(server.conn.closing());
    server.conn.send_message(s, outgoing_message::copy_of("last event"));
    server.conn.finish(s, status_code::ok, "");
    pump(client, server, t0 + 1s);
    CHECK(of<message_received>(client.events).size() == 1);
    REQUIRE(of<call_finished>(client.events).size() == 1);
    CHECK(of<call_finished>(client.events)[0].status == status_code::ok);
    CHECK(server.conn.closing());
    CHECK_FALSE(server.conn.failure());
}

TEST_CASE("client messages across DATA frames and small writes arrive whole, in order") {
    // DATA frames are written straight into the output (no copy in nghttp2): a write stops once
    // it holds max_bytes, frames split messages, and the next write goes on where it stopped.
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    const auto id = client.conn.start_call("/loggregator.v2.Ingress/BatchSender", {}, {}, t0);
    REQUIRE(id);
    pump(client, server, t0);
    std::vector<std::string> sent;
    for (int i = 0; i < 6; ++i) {
        sent.push_back(
            std::string(static_cast<std::size_t>(10000 + i * 7001), static_cast<char>('a' + i)));
        REQUIRE(client.conn.send_message(*id, outgoing_message::copy_of(sent.back())) ==
                send_result::queued);
    }
    client.conn.close_send(*id);
    constexpr std::size_t max_bytes = 20000;
    int writes = 0;
    for (int i = 0; i < 100; ++i) {
        std::string out;
        client.conn.take_output(out, max_bytes, client.events);
        if (out.empty()) {
            break;
        }
        ++writes;
        // At most one DATA frame (16 KiB and its header) beyond the limit.
        CHECK(out.size() < max_bytes + 16384 + 9);
        client.conn.output_written(client.events);
        REQUIRE(server.conn.receive(out, t0, server.events));
        // The server's WINDOW_UPDATEs, as the agent sends them.
        std::string back;
        server.conn.take_output(back, 1 << 20, server.events);
        if (!back.empty()) {
            server.conn.output_written(server.events);
            REQUIRE(client.conn.receive(back, t0, client.events));
        }
    }
    CHECK(writes > 5);
    const auto received = of<message_received>(server.events);
    REQUIRE(received.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
        CHECK(received[i].payload == sent[i]);
    }
    CHECK(of<half_closed>(server.events).size() == 1);
    CHECK(client.conn.counters().messages_sent == sent.size());
    CHECK(client.conn.queued_bytes(*id) == 0);
}

TEST_CASE("a message in pieces goes out as one message, split anywhere across DATA frames") {
    // The Loggregator emitter's batches point into the parcels they take entries from: the
    // prefix and each run of entries is a piece, copied into the DATA frames only there.
    memory_budget budget(0);
    side client(client_options(), budget, t0);
    side server(server_options(), budget, t0);
    const auto id = client.conn.start_call("/loggregator.v2.Ingress/BatchSender", {}, {}, t0);
    REQUIRE(id);
    pump(client, server, t0);
    struct gathered {
        std::string prefix;
        std::vector<std::string> parts;
        std::vector<std::string_view> more;
    };
    std::vector<std::string> payloads;
    for (int m = 0; m < 3; ++m) {
        auto g = std::make_shared<gathered>();
        std::string payload;
        // Pieces of 1 byte, of a few bytes and larger than a DATA frame (16 KiB), and empty.
        for (const std::size_t size :
             {std::size_t{1}, std::size_t{0}, std::size_t{7},
              std::size_t{40000 + 1000 * static_cast<unsigned>(m)}, std::size_t{3}}) {
            g->parts.emplace_back(size, static_cast<char>('a' + m + g->parts.size()));
            payload += g->parts.back();
        }
        for (const std::string& part : g->parts) {
            g->more.emplace_back(part);
        }
        g->prefix = frame_message(payload).substr(0, message_prefix_bytes);
        outgoing_message message{g, g->prefix, g->more};
        CHECK(message.size() == message_prefix_bytes + payload.size());
        REQUIRE(client.conn.send_message(*id, std::move(message)) == send_result::queued);
        payloads.push_back(std::move(payload));
    }
    client.conn.close_send(*id);
    for (int i = 0; i < 100; ++i) {
        std::string out;
        client.conn.take_output(out, 10000, client.events);  // writes end inside pieces
        if (out.empty()) {
            break;
        }
        client.conn.output_written(client.events);
        REQUIRE(server.conn.receive(out, t0, server.events));
        std::string back;
        server.conn.take_output(back, 1 << 20, server.events);
        if (!back.empty()) {
            server.conn.output_written(server.events);
            REQUIRE(client.conn.receive(back, t0, client.events));
        }
    }
    const auto received = of<message_received>(server.events);
    REQUIRE(received.size() == payloads.size());
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        CHECK(received[i].payload == payloads[i]);
    }
    CHECK(client.conn.counters().messages_sent == payloads.size());
    CHECK(client.conn.queued_bytes(*id) == 0);
}
