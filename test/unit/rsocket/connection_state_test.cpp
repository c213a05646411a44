// Unit tests: the I/O-free server side of a connection: SETUP checks, keepalive, stream ids,
// replies matched to requests, pushes, and the ERROR frames that close a bad connection.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/rsocket/connection_state.hpp>

using namespace mgw::rsocket;
using namespace std::chrono_literals;
using kind = connection_state::event_kind;

namespace {

const auto t0 = connection_state::clock::time_point{} + 1h;

std::string encoded(const frame& f) {
    std::string out;
    REQUIRE(encode_frame(f, out, false));
    return out;
}

std::string setup_frame(std::uint32_t keepalive_ms = 20000, std::uint32_t lifetime_ms = 90000,
                        std::uint16_t flags = 0, std::uint16_t major = 1) {
    frame f;
    f.type = frame_type::setup;
    f.flags = flags;
    f.setup.major_version = major;
    f.setup.keepalive_ms = keepalive_ms;
    f.setup.max_lifetime_ms = lifetime_ms;
    f.setup.metadata_mime = "application/binary";
    f.setup.data_mime = "application/binary";
    return encoded(f);
}

frame decoded(std::string_view bytes) {
    frame f;
    REQUIRE(decode_frame(bytes, f).has_value());
    return f;
}

connection_limits websocket_limits() {
    connection_limits limits;
    limits.length_prefixed = false;
    return limits;
}

}  // namespace

TEST_CASE("SETUP is accepted and sets the keepalive period and lifetime") {
    connection_state s(websocket_limits(), t0);
    std::vector<std::string> out;
    const auto e = s.on_frame(setup_frame(1000, 3000), t0, out);
    CHECK(e.kind == kind::setup);
    CHECK(out.empty());
    CHECK(s.setup_done());
    CHECK(s.keepalive_interval() == 1000ms);
    CHECK(s.max_lifetime() == 3000ms);
    CHECK_FALSE(s.silent_too_long(t0 + 2999ms));
    CHECK(s.silent_too_long(t0 + 3000ms));
}

TEST_CASE("a first frame other than SETUP gets ERROR INVALID_SETUP and closes") {
    connection_state s(websocket_limits(), t0);
    std::vector<std::string> out;
    frame ka;
    ka.type = frame_type::keepalive;
    ka.flags = flag::respond;
    const auto e = s.on_frame(encoded(ka), t0, out);
    CHECK(e.kind == kind::close);
    CHECK(e.counter == "no_setup");
    REQUIRE(out.size() == 1);
    const frame err = decoded(out[0]);
    CHECK(err.type == frame_type::error);
    CHECK(err.stream_id == 0);
    CHECK(err.error == errors::invalid_setup);
    CHECK(s.closed());
}

TEST_CASE("an ignorable unknown frame still cannot replace SETUP") {
    connection_state s(websocket_limits(), t0);
    std::vector<std::string> out;
    const std::string unknown = {'\0', '\0', '\0', '\1', static_cast<char>(0x82), '\0'};
    const auto e = s.on_frame(unknown, t0, out);
    CHECK(e.kind == kind::close);
    REQUIRE(out.size() == 1);
    CHECK(decoded(out[0]).error == errors::invalid_setup);
}

TEST_CASE("SETUP version, lease and resume are rejected like rsocket-java does") {
    std::vector<std::string> out;
    {
        connection_state s(websocket_limits(), t0);
        const auto e = s.on_frame(setup_frame(20000, 90000, 0, 2), t0, out);
        CHECK(e.kind == kind::close);
        CHECK(decoded(out.back()).error == errors::invalid_setup);
        CHECK(decoded(out.back()).data == "Unsupported version: 2.0");
    }
    {
        connection_state s(websocket_limits(), t0);
        s.on_frame(setup_frame(20000, 90000, flag::lease), t0, out);
        CHECK(decoded(out.back()).error == errors::invalid_setup);
    }
    {
        connection_state s(websocket_limits(), t0);
        const std::string setup = setup_frame();
        frame f = decoded(setup);
        f.flags = flag::resume_enable;
        f.setup.resume_token = "t";
        s.on_frame(encoded(f), t0, out);
        CHECK(decoded(out.back()).error == errors::unsupported_setup);
    }
    {
        connection_state s(websocket_limits(), t0);
        s.on_frame(setup_frame(0, 90000), t0, out);
        CHECK(decoded(out.back()).error == errors::invalid_setup);
    }
}

TEST_CASE("KEEPALIVE with RESPOND is echoed without it, our own keepalive asks for one") {
    connection_state s(websocket_limits(), t0);
    std::vector<std::string> out;
    s.on_frame(setup_frame(), t0, out);
    frame ka;
    ka.type = frame_type::keepalive;
    ka.flags = flag::respond;
    ka.data = "ping";
    const auto e = s.on_frame(encoded(ka), t0 + 80s, out);
    CHECK(e.kind == kind::none);
    REQUIRE(out.size() == 1);
    const frame echo = decoded(out[0]);
    CHECK(echo.type == frame_type::keepalive);
    CHECK_FALSE(echo.has(flag::respond));
    CHECK(echo.data == "ping");
    // Any frame resets the silence clock.
    CHECK_FALSE(s.silent_too_long(t0 + 160s));
    CHECK(s.silent_too_long(t0 + 170s));

    std::string mine;
    s.keepalive(mine);
    CHECK(decoded(mine).has(flag::respond));
}

TEST_CASE("our requests use even stream ids and replies are matched to them") {
    connection_state s(websocket_limits(), t0);
    std::vector<std::string> out;
    s.on_frame(setup_frame(), t0, out);
    std::string bytes;
    CHECK(s.start_request(frame_type::request_fnf, "KEY", bytes) == 2);
    CHECK(s.pending_requests() == 0);  // fire and forget: no answer tracked
    bytes.clear();
    const std::uint32_t id = s.start_request(frame_type::request_response, "KEY", bytes);
    CHECK(id == 4);
    const frame request = decoded(bytes);
    CHECK(request.type == frame_type::request_response);
    CHECK(request.data == "KEY");
    CHECK(s.pending_requests() == 1);

    frame reply;
    reply.stream_id = id;
    reply.type = frame_type::payload;
    reply.flags = flag::next | flag::complete | flag::metadata;
    reply.metadata = "wrapped";
    reply.data = "cipher";
    const std::string reply_bytes = encoded(reply);
    auto e = s.on_frame(reply_bytes, t0, out);
    CHECK(e.kind == kind::response);
    CHECK(e.stream_id == id);
    CHECK(e.metadata == "wrapped");
    CHECK(e.data == "cipher");
    CHECK(s.pending_requests() == 0);
    // A second reply on the same stream (or a late one after a cancel) is dropped.
    e = s.on_frame(encoded(reply), t0, out);
    CHECK(e.kind == kind::none);
}

TEST_CASE("an ERROR on our stream fails that request, on stream 0 it ends the connection") {
    connection_state s(websocket_limits(), t0);
    std::vector<std::string> out;
    s.on_frame(setup_frame(), t0, out);
    std::string bytes;
    const std::uint32_t id = s.start_request(frame_type::request_response, "KEY", bytes);
    frame err;
    err.stream_id = id;
    err.type = frame_type::error;
    err.error = errors::application_error;
    err.data = "no metrics";
    const std::string err_bytes = encoded(err);
    auto e = s.on_frame(err_bytes, t0, out);
    CHECK(e.kind == kind::stream_error);
    CHECK(e.error == errors::application_error);
    CHECK(e.message == "no metrics");
    err.stream_id = 0;
    err.error = errors::connection_close;
    e = s.on_frame(encoded(err), t0, out);
    CHECK(e.kind == kind::close);
    CHECK(e.counter.empty());
}

TEST_CASE("cancelling a request sends CANCEL and forgets it") {
    connection_state s(websocket_limits(), t0);
    std::vector<std::string> out;
    s.on_frame(setup_frame(), t0, out);
    std::string bytes;
    const std::uint32_t id = s.start_request(frame_type::request_response, "KEY", bytes);
    bytes.clear();
    s.end_request(id, true, bytes);
    CHECK(decoded(bytes).type == frame_type::cancel);
    CHECK(decoded(bytes).stream_id == id);
    CHECK(s.pending_requests() == 0);
}

TEST_CASE("requests in flight are bounded") {
    connection_limits limits = websocket_limits();
    limits.max_pending_requests = 2;
    connection_state s(limits, t0);
    std::vector<std::string> out;
    s.on_frame(setup_frame(), t0, out);
    std::string bytes;
    CHECK(s.start_request(frame_type::request_response, "K", bytes) != 0);
    CHECK(s.start_request(frame_type::request_response, "K", bytes) != 0);
    CHECK(s.start_request(frame_type::request_response, "K", bytes) == 0);
}

TEST_CASE("client pushes: REQUEST_FNF, and REQUEST_RESPONSE that wants an ack") {
    connection_state s(websocket_limits(), t0);
    std::vector<std::string> out;
    s.on_frame(setup_frame(), t0, out);
    frame push;
    push.stream_id = 1;
    push.type = frame_type::request_fnf;
    push.flags = flag::metadata;
    push.metadata = "k";
    push.data = "d";
    const std::string push_bytes = encoded(push);
    auto e = s.on_frame(push_bytes, t0, out);
    CHECK(e.kind == kind::push);
    CHECK_FALSE(e.needs_ack);
    CHECK(e.metadata == "k");
    push.stream_id = 3;
    push.type = frame_type::request_response;
    e = s.on_frame(encoded(push), t0, out);
    CHECK(e.kind == kind::push);
    CHECK(e.needs_ack);
    std::string ack;
    s.push_ack(e.stream_id, ack);
    const frame a = decoded(ack);
    CHECK(a.type == frame_type::payload);
    CHECK(a.flags == (flag::next | flag::complete));
    CHECK(a.data.empty());
}

TEST_CASE("REQUEST_STREAM gets APPLICATION_ERROR, unknown frames with I are ignored") {
    connection_state s(websocket_limits(), t0);
    std::vector<std::string> out;
    s.on_frame(setup_frame(), t0, out);
    frame rs;
    rs.stream_id = 1;
    rs.type = frame_type::request_stream;
    rs.request_n = 1;
    auto e = s.on_frame(encoded(rs), t0, out);
    CHECK(e.kind == kind::none);
    REQUIRE(out.size() == 1);
    CHECK(decoded(out[0]).error == errors::application_error);
    out.clear();
    const std::string unknown = {'\0', '\0', '\0', '\1', static_cast<char>(0x82), '\0'};
    e = s.on_frame(unknown, t0, out);
    CHECK(e.kind == kind::none);
    CHECK(out.empty());
    CHECK_FALSE(s.closed());
}

TEST_CASE("garbage after SETUP gets ERROR CONNECTION_ERROR and closes, once") {
    connection_state s(connection_limits{}, t0);
    std::vector<std::string> out;
    s.on_frame(setup_frame(), t0, out);
    auto e = s.on_frame("\x01\x02\x03\x04\x05\x06\x07", t0, out);
    CHECK(e.kind == kind::close);
    CHECK(e.counter == "invalid_frame");
    REQUIRE(out.size() == 1);
    // Length-prefixed for TCP.
    CHECK(read_length_prefix(out[0].data()) == out[0].size() - 3);
    CHECK(decoded(std::string_view(out[0]).substr(3)).error == errors::connection_error);
    e = s.on_frame(setup_frame(), t0, out);
    CHECK(e.kind == kind::none);
    CHECK(out.size() == 1);
}

TEST_CASE("a second SETUP and oversize fragments are connection errors") {
    connection_limits limits = websocket_limits();
    limits.max_reassembly_bytes = 4;
    connection_state s(limits, t0);
    std::vector<std::string> out;
    s.on_frame(setup_frame(), t0, out);
    frame frag;
    frag.stream_id = 1;
    frag.type = frame_type::request_fnf;
    frag.flags = flag::follows;
    frag.data = "12345";
    auto e = s.on_frame(encoded(frag), t0, out);
    CHECK(e.kind == kind::close);
    CHECK(e.counter == "reassembly_too_large");

    connection_state t(websocket_limits(), t0);
    t.on_frame(setup_frame(), t0, out);
    e = t.on_frame(setup_frame(), t0, out);
    CHECK(e.kind == kind::close);
    CHECK(e.counter == "second_setup");
}
