// Unit tests: the RSocket frame codec against byte vectors written from Protocol.md's layouts,
// the reassembly of fragments, and the malformed frames a peer can send.
#include <deque>
#include <string>

#include <catch2/catch.hpp>

#include <mgw/rsocket/frame.hpp>
#include <mgw/rsocket/reassembler.hpp>

using namespace mgw::rsocket;

namespace {

// "00 01 0a" -> bytes; spaces ignored.
std::string hex(std::string_view text) {
    std::string out;
    int nibble = -1;
    for (char c : text) {
        int v = -1;
        if (c >= '0' && c <= '9') {
            v = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            v = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            v = c - 'A' + 10;
        } else {
            continue;
        }
        if (nibble < 0) {
            nibble = v;
        } else {
            out.push_back(static_cast<char>(nibble * 16 + v));
            nibble = -1;
        }
    }
    return out;
}

// The SETUP rsocket-java 1.1 sends with its defaults (keepalive 20 s, lifetime 90 s, both MIME
// types application/binary, empty payload), with its TCP length prefix: 56 bytes.
const std::string java_setup = hex("00 00 38  00 00 00 00  04 00  00 01 00 00  00 00 4E 20"
                                   "00 01 5F 90  12") +
                               "application/binary" + hex("12") + "application/binary";

// Keeps the bytes of a test frame alive for the whole test case: decoded views point into them.
std::string_view kept(std::string bytes) {
    static std::deque<std::string> store;  // never moves its elements
    store.push_back(std::move(bytes));
    return store.back();
}

}  // namespace

TEST_CASE("the rsocket-java default SETUP decodes field by field") {
    REQUIRE(java_setup.size() == 3 + 56);
    CHECK(read_length_prefix(java_setup.data()) == 56);
    frame f;
    REQUIRE(decode_frame(std::string_view(java_setup).substr(3), f).has_value());
    CHECK(f.type == frame_type::setup);
    CHECK(f.stream_id == 0);
    CHECK(f.flags == 0);
    CHECK(f.setup.major_version == 1);
    CHECK(f.setup.minor_version == 0);
    CHECK(f.setup.keepalive_ms == 20000);
    CHECK(f.setup.max_lifetime_ms == 90000);
    CHECK(f.setup.metadata_mime == "application/binary");
    CHECK(f.setup.data_mime == "application/binary");
    CHECK(f.data.empty());
    CHECK_FALSE(f.has(flag::metadata));
}

TEST_CASE("SETUP encodes to the same bytes it decodes from") {
    frame f;
    REQUIRE(decode_frame(std::string_view(java_setup).substr(3), f).has_value());
    std::string out;
    REQUIRE(encode_frame(f, out, true));
    CHECK(out == java_setup);
}

TEST_CASE("SETUP with resume token, metadata and data") {
    const std::string bytes = hex("00 00 00 00  05 80  00 01 00 00  00 00 03 e8  00 00 0b b8"
                                  "00 02 ab cd  01") +
                              "m" + hex("01") + "d" + hex("00 00 02") + "md" + "payload";
    frame f;
    REQUIRE(decode_frame(bytes, f).has_value());
    CHECK(f.has(flag::resume_enable));
    CHECK(f.has(flag::metadata));
    CHECK(f.setup.resume_token == hex("ab cd"));
    CHECK(f.setup.keepalive_ms == 1000);
    CHECK(f.setup.max_lifetime_ms == 3000);
    CHECK(f.metadata == "md");
    CHECK(f.data == "payload");
    std::string out;
    REQUIRE(encode_frame(f, out, false));
    CHECK(out == bytes);
}

TEST_CASE("KEEPALIVE with and without RESPOND") {
    const std::string with_respond = hex("00 00 00 00  0C 80  00 00 00 00 00 00 00 00") + "hi";
    frame f;
    REQUIRE(decode_frame(with_respond, f).has_value());
    CHECK(f.type == frame_type::keepalive);
    CHECK(f.has(flag::respond));
    CHECK(f.last_position == 0);
    CHECK(f.data == "hi");

    frame echo;
    echo.type = frame_type::keepalive;
    echo.data = f.data;
    std::string out;
    REQUIRE(encode_frame(echo, out, true));
    CHECK(out == hex("00 00 10  00 00 00 00  0C 00  00 00 00 00 00 00 00 00") + "hi");
}

TEST_CASE("the proxy's key request and key push, as REQUEST_RESPONSE and REQUEST_FNF") {
    const std::string der = hex("30 82 01 22 30 0d");
    frame rr;
    rr.stream_id = 4;
    rr.type = frame_type::request_response;
    rr.data = der;
    std::string out;
    REQUIRE(encode_frame(rr, out, true));
    CHECK(out == hex("00 00 0c  00 00 00 04  10 00") + der);

    frame fnf;
    fnf.stream_id = 2;
    fnf.type = frame_type::request_fnf;
    fnf.data = der;
    out.clear();
    REQUIRE(encode_frame(fnf, out, true));
    CHECK(out == hex("00 00 0c  00 00 00 02  14 00") + der);
}

TEST_CASE("a scrape reply: PAYLOAD N|C with metadata") {
    const std::string bytes = hex("00 00 00 04  29 60  00 00 03") + "KEY" + "CIPHERTEXT";
    frame f;
    REQUIRE(decode_frame(bytes, f).has_value());
    CHECK(f.type == frame_type::payload);
    CHECK(f.stream_id == 4);
    CHECK(f.has(flag::metadata));
    CHECK(f.has(flag::next));
    CHECK(f.has(flag::complete));
    CHECK(f.metadata == "KEY");
    CHECK(f.data == "CIPHERTEXT");
    std::string out;
    REQUIRE(encode_frame(f, out, false));
    CHECK(out == bytes);
}

TEST_CASE("the dying push: REQUEST_FNF with metadata on an odd stream") {
    const std::string bytes = hex("00 00 00 01  15 00  00 00 01") + "K" + "D";
    frame f;
    REQUIRE(decode_frame(bytes, f).has_value());
    CHECK(f.type == frame_type::request_fnf);
    CHECK(f.stream_id == 1);
    CHECK(f.metadata == "K");
    CHECK(f.data == "D");
}

TEST_CASE("the empty acknowledgement PAYLOAD N|C") {
    frame f;
    f.stream_id = 3;
    f.type = frame_type::payload;
    f.flags = flag::next | flag::complete;
    std::string out;
    REQUIRE(encode_frame(f, out, true));
    CHECK(out == hex("00 00 06  00 00 00 03  28 60"));
}

TEST_CASE("ERROR, CANCEL, REQUEST_N and REQUEST_STREAM") {
    frame f;
    REQUIRE(decode_frame(kept(hex("00 00 00 05  2C 00  00 00 02 01") + "boom"), f).has_value());
    CHECK(f.type == frame_type::error);
    CHECK(f.error == errors::application_error);
    CHECK(f.data == "boom");

    REQUIRE(decode_frame(kept(hex("00 00 00 05  24 00")), f).has_value());
    CHECK(f.type == frame_type::cancel);

    REQUIRE(decode_frame(kept(hex("00 00 00 05  20 00  00 00 00 07")), f).has_value());
    CHECK(f.type == frame_type::request_n);
    CHECK(f.request_n == 7);

    REQUIRE(decode_frame(kept(hex("00 00 00 07  18 00  7f ff ff ff") + "x"), f).has_value());
    CHECK(f.type == frame_type::request_stream);
    CHECK(f.request_n == 0x7fffffff);
    CHECK(f.data == "x");

    std::string out;
    frame e;
    e.type = frame_type::error;
    e.error = errors::invalid_setup;
    e.data = "x";
    REQUIRE(encode_frame(e, out, false));
    CHECK(out == hex("00 00 00 00  2C 00  00 00 00 01") + "x");
}

TEST_CASE("malformed frames are errors, never crashes") {
    frame f;
    CHECK(decode_frame("", f).error() == errc::truncated);
    CHECK(decode_frame(kept(hex("00 00 00")), f).error() == errc::truncated);
    // Reserved bit of the stream id.
    CHECK(decode_frame(kept(hex("80 00 00 01  24 00")), f).error() == errc::reserved_bit);
    // Type 0x00 (reserved) and 0x20.
    CHECK(decode_frame(kept(hex("00 00 00 01  00 00")), f).error() == errc::unknown_type);
    CHECK(decode_frame(kept(hex("00 00 00 01  82 00")), f).error() == errc::unknown_type);
    CHECK(f.has(flag::ignore));
    // SETUP on a stream, REQUEST_RESPONSE on stream 0.
    CHECK(
        decode_frame(kept(hex("00 00 00 01  04 00  00 01 00 00 00 00 00 01 00 00 00 01 00 00")), f)
            .error() == errc::stream_id_mismatch);
    CHECK(decode_frame(kept(hex("00 00 00 00  10 00")), f).error() == errc::stream_id_mismatch);
    // Metadata length past the end.
    CHECK(decode_frame(kept(hex("00 00 00 04  29 60  00 00 09") + "abc"), f).error() ==
          errc::metadata_length);
    CHECK(decode_frame(kept(hex("00 00 00 04  29 60  00 00")), f).error() == errc::metadata_length);
    // PAYLOAD with neither NEXT nor COMPLETE.
    CHECK(decode_frame(kept(hex("00 00 00 04  28 00")), f).error() == errc::payload_without_n_or_c);
    // SETUP cut inside the fixed fields, a MIME length past the end, a control byte in a MIME.
    CHECK(decode_frame(kept(hex("00 00 00 00  04 00  00 01 00 00")), f).error() == errc::truncated);
    CHECK(decode_frame(
              kept(hex("00 00 00 00  04 00  00 01 00 00 00 00 00 01 00 00 00 01  05") + "ab"), f)
              .error() == errc::bad_setup);
    CHECK(decode_frame(
              kept(hex("00 00 00 00  04 00  00 01 00 00 00 00 00 01 00 00 00 01  01 0a 00")), f)
              .error() == errc::bad_setup);
    // KEEPALIVE with the reserved bit of its position.
    CHECK(decode_frame(kept(hex("00 00 00 00  0C 80  80 00 00 00 00 00 00 00")), f).error() ==
          errc::reserved_bit);
    // ERROR without a code.
    CHECK(decode_frame(kept(hex("00 00 00 00  2C 00  00 00")), f).error() == errc::truncated);
}

TEST_CASE("frame errors are error codes of the category mgw.rsocket") {
    const auto& category = mgw::rsocket::error_category();
    CHECK(std::string_view(category.name()) == "mgw.rsocket");
    // The messages are what the closing ERROR frame says after "invalid frame: ".
    CHECK(category.message(static_cast<int>(errc::truncated)) ==
          "frame shorter than its fixed fields");
    CHECK(category.message(static_cast<int>(errc::reserved_bit)) == "reserved bit set");
    CHECK(category.message(static_cast<int>(errc::unknown_type)) == "unknown frame type");
    CHECK(category.message(static_cast<int>(errc::stream_id_mismatch)) ==
          "frame type not allowed on this stream id");
    CHECK(category.message(static_cast<int>(errc::metadata_length)) ==
          "metadata length past the end of the frame");
    CHECK(category.message(static_cast<int>(errc::bad_setup)) == "malformed SETUP MIME types");
    CHECK(category.message(static_cast<int>(errc::payload_without_n_or_c)) ==
          "PAYLOAD with neither NEXT nor COMPLETE");
    CHECK(category.message(0) == "unknown");
    const boost::system::error_code code = errc::bad_setup;  // an error_code enum
    CHECK(&code.category() == &category);
    frame f;
    CHECK(&decode_frame("", f).error().category() == &category);
}

TEST_CASE("encoding refuses frames past the 24-bit length") {
    const std::string big(max_frame_bytes, 'x');
    frame f;
    f.stream_id = 1;
    f.type = frame_type::payload;
    f.flags = flag::next;
    f.data = big;
    std::string out = "keep";
    CHECK_FALSE(encode_frame(f, out, true));
    CHECK(out == "keep");
    f.data = std::string_view(big).substr(0, max_frame_bytes - header_bytes);
    CHECK(encode_frame(f, out, true));
    CHECK(read_length_prefix(out.data() + 4) == max_frame_bytes);
}

TEST_CASE("fragments are joined: metadata first, then data, flags of the whole") {
    reassembler r(1 << 20);
    frame part;
    frame out;
    // REQUEST_RESPONSE M|F, metadata "ab" data "1"; PAYLOAD F|N|M metadata "c" data "2";
    // last PAYLOAD N data "3".
    const std::string first = hex("00 00 00 05  11 80  00 00 02") + "ab" + "1";
    const std::string middle = hex("00 00 00 05  29 a0  00 00 01") + "c" + "2";
    const std::string last = hex("00 00 00 05  28 20") + "3";
    REQUIRE(decode_frame(first, part).has_value());
    CHECK(r.feed(part, out) == reassembler::status::pending);
    REQUIRE(decode_frame(middle, part).has_value());
    CHECK(r.feed(part, out) == reassembler::status::pending);
    CHECK(r.buffered_bytes() == 5);
    REQUIRE(decode_frame(last, part).has_value());
    REQUIRE(r.feed(part, out) == reassembler::status::complete);
    CHECK(out.type == frame_type::request_response);
    CHECK(out.stream_id == 5);
    CHECK_FALSE(out.has(flag::follows));
    CHECK(out.has(flag::metadata));
    CHECK(out.metadata == "abc");
    CHECK(out.data == "123");
    CHECK(r.buffered_bytes() == 0);
}

TEST_CASE("an unfragmented frame passes through, CANCEL drops a partial message") {
    reassembler r(1 << 20);
    frame in;
    frame out;
    REQUIRE(decode_frame(kept(hex("00 00 00 04  29 60  00 00 01") + "k" + "d"), in).has_value());
    REQUIRE(r.feed(in, out) == reassembler::status::complete);
    CHECK(out.data == "d");

    REQUIRE(decode_frame(kept(hex("00 00 00 07  14 80") + "part"), in).has_value());
    CHECK(r.feed(in, out) == reassembler::status::pending);
    REQUIRE(decode_frame(kept(hex("00 00 00 07  24 00")), in).has_value());
    REQUIRE(r.feed(in, out) == reassembler::status::complete);
    CHECK(out.type == frame_type::cancel);
    CHECK(r.buffered_bytes() == 0);
}

TEST_CASE("reassembly is bounded across streams") {
    reassembler r(10);
    frame in;
    frame out;
    REQUIRE(decode_frame(kept(hex("00 00 00 01  14 80") + "123456"), in).has_value());
    CHECK(r.feed(in, out) == reassembler::status::pending);
    REQUIRE(decode_frame(kept(hex("00 00 00 03  14 80") + "123456"), in).has_value());
    CHECK(r.feed(in, out) == reassembler::status::too_large);
}

TEST_CASE("a completed message is held until released, then its bytes are gone") {
    reassembler r(1 << 20);
    frame first;
    first.stream_id = 3;
    first.type = frame_type::request_fnf;
    first.flags = flag::follows;
    first.data = "abc";
    frame last;
    last.stream_id = 3;
    last.type = frame_type::payload;
    last.flags = flag::next;
    last.data = "de";
    frame out;
    REQUIRE(r.feed(first, out) == reassembler::status::pending);
    REQUIRE(r.feed(last, out) == reassembler::status::complete);
    CHECK(out.data == "abcde");
    CHECK(r.buffered_bytes() == 0);
    CHECK(r.held_bytes() == 5);
    r.release_done();
    CHECK(r.held_bytes() == 0);
}

TEST_CASE("ERROR codes are named from a fixed set") {
    CHECK(error_code_name(errors::application_error) == "application_error");
    CHECK(error_code_name(errors::rejected_setup) == "rejected_setup");
    CHECK(error_code_name(0x301) == "other");
    CHECK(error_code_name(0xFFFFFFFF) == "other");
}
