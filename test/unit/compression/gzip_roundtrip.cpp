// gzip encoder/decoder behaviour on our own bytes: round trips, streaming splits, limits
// (gzip bombs), corrupt input and trailing data.
#include <chrono>
#include <cstdint>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include <mgw/compression/gzip.hpp>

namespace {

using mgw::compression::gzip_compress;
using mgw::compression::gzip_decoder;
using mgw::compression::gzip_decompress;
using mgw::compression::gzip_encoder;
using mgw::compression::gzip_status;

std::string random_bytes(std::size_t size, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::string out(size, '\0');
    for (char& c : out) {
        c = static_cast<char>(rng() & 0xff);
    }
    return out;
}

// Exposition-like text: compressible, with repeats at many distances.
std::string metric_text(std::size_t size, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::string out;
    while (out.size() < size) {
        out += "http_requests_total{code=\"" + std::to_string(200 + rng() % 5) + "\",path=\"/api/" +
               std::to_string(rng() % 50) + "\"} " + std::to_string(rng() % 100000) + "\n";
    }
    out.resize(size);
    return out;
}

std::string decode_all(std::string_view gz, std::size_t limit = 1u << 30) {
    std::string out;
    REQUIRE(gzip_decompress(gz, limit, out) == gzip_status::done);
    return out;
}

}  // namespace

TEST_CASE("gzip round trips random and text data of many sizes") {
    const std::size_t sizes[] = {0,     1,     2,       3,       15,        16,       255,
                                 256,   1000,  4095,    4096,    32767,     32768,    65535,
                                 65536, 65537, 100'003, 262'144, 1'000'000, 3'000'001};
    std::uint32_t seed = 1;
    for (std::size_t size : sizes) {
        CAPTURE(size);
        const std::string random = random_bytes(size, seed++);
        const std::string text = metric_text(size, seed++);
        const std::string gz_random = gzip_compress(random);
        const std::string gz_text = gzip_compress(text);
        CHECK(decode_all(gz_random) == random);
        CHECK(decode_all(gz_text) == text);
        // The gzip magic and method bytes, so other tools recognise the output.
        REQUIRE(gz_text.size() >= 18);
        CHECK(static_cast<unsigned char>(gz_text[0]) == 0x1f);
        CHECK(static_cast<unsigned char>(gz_text[1]) == 0x8b);
        CHECK(gz_text[2] == 8);
        if (size >= 100'000) {
            CHECK(gz_text.size() < text.size() / 3);
        }
    }
}

TEST_CASE("gzip encoder accepts input in chunks of any size") {
    const std::string text = metric_text(500'000, 7);
    std::mt19937 rng(42);
    for (int round = 0; round < 5; ++round) {
        gzip_encoder encoder;
        std::string gz;
        std::size_t pos = 0;
        while (pos < text.size()) {
            const std::size_t n =
                std::min<std::size_t>(rng() % (round == 0 ? 3 : 20'000), text.size() - pos);
            encoder.write(std::string_view(text).substr(pos, n), gz);
            pos += n;
        }
        encoder.finish(gz);
        CHECK(decode_all(gz) == text);
        // finish() is idempotent: a second call appends nothing.
        const std::size_t finished_size = gz.size();
        encoder.finish(gz);
        encoder.write("more", gz);
        CHECK(gz.size() == finished_size);
    }
}

TEST_CASE("gzip encoder moved-from and moved-to objects keep working") {
    gzip_encoder a;
    std::string gz;
    a.write("hello ", gz);
    gzip_encoder b(std::move(a));
    b.write("world", gz);
    b.finish(gz);
    CHECK(decode_all(gz) == "hello world");
}

TEST_CASE("gzip decoder handles input split at every byte boundary") {
    const std::string text = metric_text(3000, 3) + random_bytes(500, 4) + metric_text(2000, 5);
    const std::string gz = gzip_compress(text);
    for (std::size_t split = 0; split <= gz.size(); ++split) {
        CAPTURE(split);
        gzip_decoder decoder(text.size());
        std::string out;
        const gzip_status first = decoder.write(std::string_view(gz).substr(0, split), out);
        if (split < gz.size()) {
            REQUIRE(first == gzip_status::ok);
            REQUIRE(decoder.write(std::string_view(gz).substr(split), out) == gzip_status::done);
        } else {
            REQUIRE(first == gzip_status::done);
        }
        REQUIRE(out == text);
        REQUIRE(decoder.decoded_bytes() == text.size());
    }
}

TEST_CASE("gzip decoder accepts one byte at a time") {
    const std::string text = metric_text(20'000, 9);
    const std::string gz = gzip_compress(text);
    gzip_decoder decoder(text.size());
    std::string out;
    for (std::size_t i = 0; i + 1 < gz.size(); ++i) {
        REQUIRE(decoder.write(std::string_view(gz).substr(i, 1), out) == gzip_status::ok);
    }
    CHECK(decoder.write(std::string_view(gz).substr(gz.size() - 1), out) == gzip_status::done);
    CHECK(out == text);
}

TEST_CASE("gzip decoder limit: exactly at the limit is fine, one byte over is too large") {
    const std::string text = metric_text(100'000, 11);
    const std::string gz = gzip_compress(text);
    std::string out;
    CHECK(gzip_decompress(gz, text.size(), out) == gzip_status::done);
    CHECK(out == text);
    out.clear();
    CHECK(gzip_decompress(gz, text.size() - 1, out) == gzip_status::too_large);
    CHECK(out.size() <= text.size() - 1);
    out.clear();
    CHECK(gzip_decompress(gzip_compress(""), 0, out) == gzip_status::done);
    CHECK(gzip_decompress(gzip_compress("x"), 0, out) == gzip_status::too_large);
    CHECK(out.empty());
}

TEST_CASE("gzip bomb stops at the limit quickly without allocating the full output") {
    // 100 MB of zeros, compressed in 1 MB pieces so the test itself never holds 100 MB.
    gzip_encoder encoder;
    std::string bomb;
    const std::string zeros(1u << 20, '\0');
    for (int i = 0; i < 100; ++i) {
        encoder.write(zeros, bomb);
    }
    encoder.finish(bomb);
    CHECK(bomb.size() < 2'000'000);

    constexpr std::size_t limit = 10u << 20;
    const auto start = std::chrono::steady_clock::now();
    gzip_decoder decoder(limit);
    std::string out;
    gzip_status status = gzip_status::ok;
    // Feed it as a network reader would, 16 KB at a time.
    for (std::size_t pos = 0; pos < bomb.size() && status == gzip_status::ok; pos += 16384) {
        status = decoder.write(std::string_view(bomb).substr(pos, 16384), out);
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(status == gzip_status::too_large);
    CHECK(out.size() <= limit);
    CHECK(out.capacity() < 3 * limit);
    CHECK(decoder.decoded_bytes() <= limit);
    CHECK(elapsed < std::chrono::seconds(2));
    // Terminal: later writes report the same status and add nothing.
    const std::size_t size = out.size();
    CHECK(decoder.write(bomb, out) == gzip_status::too_large);
    CHECK(out.size() == size);

    // The one-shot helper behaves the same on the whole bomb.
    std::string one_shot;
    CHECK(gzip_decompress(bomb, limit, one_shot) == gzip_status::too_large);
    CHECK(one_shot.capacity() < 3 * limit);
}

TEST_CASE("gzip decoder rejects data that is not gzip") {
    std::string out;
    CHECK(gzip_decompress("hello world, not gzip at all", 1000, out) == gzip_status::corrupt);
    // Right magic, wrong compression method.
    std::string bad_method = gzip_compress("abc");
    bad_method[2] = 7;
    CHECK(gzip_decompress(bad_method, 1000, out) == gzip_status::corrupt);
    // zlib (RFC 1950) stream of "a": a different wrapper.
    const std::string zlib("\x78\x9c\x4b\x04\x00\x00\x62\x00\x62", 9);
    CHECK(gzip_decompress(zlib, 1000, out) == gzip_status::corrupt);
}

TEST_CASE("gzip decoder rejects a bad CRC, a bad size and damaged deflate data") {
    const std::string text = metric_text(50'000, 13);
    const std::string gz = gzip_compress(text);
    std::string out;

    std::string bad_crc = gz;
    bad_crc[gz.size() - 8] ^= 0x01;
    CHECK(gzip_decompress(bad_crc, 1u << 20, out) == gzip_status::corrupt);

    std::string bad_size = gz;
    bad_size[gz.size() - 4] ^= 0x01;
    out.clear();
    CHECK(gzip_decompress(bad_size, 1u << 20, out) == gzip_status::corrupt);

    // Flipping any one byte of the body must never yield "done" with wrong data.
    std::mt19937 rng(17);
    for (int i = 0; i < 200; ++i) {
        std::string damaged = gz;
        const std::size_t pos = 10 + rng() % (gz.size() - 18);
        damaged[pos] = static_cast<char>(damaged[pos] ^ (1 + rng() % 255));
        out.clear();
        const gzip_status status = gzip_decompress(damaged, 1u << 20, out);
        CAPTURE(pos);
        CHECK(status != gzip_status::done);
    }
}

TEST_CASE("gzip truncated input: the decoder waits, the one-shot helper says corrupt") {
    const std::string text = metric_text(10'000, 19);
    const std::string gz = gzip_compress(text);
    for (std::size_t cut : {std::size_t{0}, std::size_t{5}, std::size_t{10}, gz.size() / 2,
                            gz.size() - 4, gz.size() - 1}) {
        CAPTURE(cut);
        gzip_decoder decoder(1u << 20);
        std::string out;
        CHECK(decoder.write(std::string_view(gz).substr(0, cut), out) == gzip_status::ok);
        std::string one_shot;
        CHECK(gzip_decompress(std::string_view(gz).substr(0, cut), 1u << 20, one_shot) ==
              gzip_status::corrupt);
    }
}

TEST_CASE("gzip decoder ignores bytes after the first member") {
    const std::string first = metric_text(5000, 21);
    const std::string gz = gzip_compress(first);

    std::string out;
    CHECK(gzip_decompress(gz + "trailing garbage", 1u << 20, out) == gzip_status::done);
    CHECK(out == first);

    // A second member (as `cat a.gz b.gz` makes) is trailing data too: documented behaviour.
    out.clear();
    CHECK(gzip_decompress(gz + gzip_compress("second"), 1u << 20, out) == gzip_status::done);
    CHECK(out == first);

    // Trailing bytes arriving in a later write are ignored as well.
    gzip_decoder decoder(1u << 20);
    out.clear();
    CHECK(decoder.write(gz, out) == gzip_status::done);
    CHECK(decoder.write("more", out) == gzip_status::done);
    CHECK(out == first);
}

TEST_CASE("gzip decoder appends to existing output") {
    const std::string gz = gzip_compress("payload");
    std::string out = "prefix:";
    CHECK(gzip_decompress(gz, 100, out) == gzip_status::done);
    CHECK(out == "prefix:payload");
}

TEST_CASE("gzip decoder within capacity never grows its output, and decodes the same") {
    const std::string text = metric_text(400'000, 7);
    // A bomb too: a megabyte of zeros is about a kilobyte of gzip.
    const std::string zeros(1'000'000, '\0');
    for (const std::string* plain : {&text, &zeros}) {
        const std::string gz = gzip_compress(*plain);
        for (const std::size_t piece : {std::size_t{1}, std::size_t{700}, gz.size()}) {
            for (const std::size_t step : {std::size_t{1}, std::size_t{4096}, std::size_t{65536}}) {
                CAPTURE(piece, step);
                gzip_decoder decoder(plain->size());
                std::string out;
                gzip_status status = gzip_status::ok;
                for (std::size_t at = 0; at < gz.size() && status == gzip_status::ok; at += piece) {
                    std::string_view input = std::string_view(gz).substr(at, piece);
                    for (;;) {
                        const std::size_t capacity = out.capacity();
                        status = decoder.write_within_capacity(input, out);
                        REQUIRE(out.capacity() == capacity);
                        if (status != gzip_status::output_full) {
                            break;
                        }
                        REQUIRE(out.size() == capacity);
                        out.reserve(capacity + step);
                    }
                }
                REQUIRE(status == gzip_status::done);
                REQUIRE(out == *plain);
            }
        }
    }
}

TEST_CASE("gzip decoder within capacity stops a bomb at the limit") {
    const std::string gz = gzip_compress(std::string(10'000'000, 'a'));
    gzip_decoder decoder(100'000);
    std::string out;
    std::string_view input = gz;
    gzip_status status = gzip_status::output_full;
    while (status == gzip_status::output_full) {
        out.reserve(out.capacity() + 32768);
        status = decoder.write_within_capacity(input, out);
    }
    CHECK(status == gzip_status::too_large);
    CHECK(out.size() == 100'000);
    CHECK(out.capacity() < 200'000);
}
