// transfer_whole: asio::async_write / async_read hand a stream everything left in each call,
// where Asio's default stops at 64 KiB; a stream that takes less still gets the rest, in order,
// and an error ends the operation. The stream here records each call instead of a socket.
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <mgw/core/transfer_whole.hpp>

namespace {

namespace asio = boost::asio;
using boost::system::error_code;

// Takes at most `window` bytes per call, like a socket with that much room; fails the call
// numbered `fail_at` (0: never).
class recording_stream {
  public:
    using executor_type = asio::io_context::executor_type;

    recording_stream(asio::io_context& io, std::size_t window, std::size_t fail_at = 0)
        : io_(io), window_(window), fail_at_(fail_at) {}

    executor_type get_executor() { return io_.get_executor(); }

    template <typename Buffers, typename Token>
    auto async_write_some(const Buffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const Buffers& from) {
                const error_code ec = next_call(asio::buffer_size(from));
                const std::size_t n = ec ? 0 : std::min(asio::buffer_size(from), window_);
                written.resize(written.size() + n);
                asio::buffer_copy(asio::buffer(written.data() + written.size() - n, n), from);
                asio::post(io_,
                           [handler = std::move(handler), ec, n]() mutable { handler(ec, n); });
            },
            token, buffers);
    }

    template <typename Buffers, typename Token>
    auto async_read_some(const Buffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const Buffers& into) {
                const error_code ec = next_call(asio::buffer_size(into));
                const std::size_t n =
                    ec ? 0
                       : asio::buffer_copy(into,
                                           asio::buffer(source.data() + read_,
                                                        std::min(source.size() - read_, window_)));
                read_ += n;
                asio::post(io_,
                           [handler = std::move(handler), ec, n]() mutable { handler(ec, n); });
            },
            token, buffers);
    }

    std::vector<std::size_t> calls;  // bytes offered to each call
    std::string written;
    std::string source;  // what reads return

  private:
    // Records a call; its error, if it is the one that fails.
    error_code next_call(std::size_t offered) {
        calls.push_back(offered);
        return calls.size() == fail_at_ ? error_code(asio::error::connection_reset) : error_code{};
    }

    asio::io_context& io_;
    std::size_t window_;
    std::size_t fail_at_;
    std::size_t read_ = 0;
};

std::string pattern(std::size_t size) {
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<char>('a' + i % 23);
    }
    return bytes;
}

constexpr std::size_t chunk = std::size_t{256} << 10;

struct outcome {
    error_code ec;
    std::size_t moved = 0;
};

// Writes `data` to `stream` with transfer_whole and runs until the operation completes.
outcome write_whole(asio::io_context& io, recording_stream& stream, const std::string& data) {
    outcome out;
    asio::async_write(stream, asio::buffer(data), mgw::core::transfer_whole,
                      [&](error_code ec, std::size_t n) {
                          out = {ec, n};
                      });
    io.run();
    return out;
}

}  // namespace

TEST_CASE("transfer_whole hands a 256 KiB write to the stream in one call", "[transfer_whole]") {
    asio::io_context io;
    const std::string data = pattern(chunk);
    recording_stream whole(io, chunk * 4);
    recording_stream capped(io, chunk * 4);
    error_code whole_ec;
    error_code capped_ec;
    asio::async_write(whole, asio::buffer(data), mgw::core::transfer_whole,
                      [&](error_code ec, std::size_t) { whole_ec = ec; });
    asio::async_write(capped, asio::buffer(data),
                      [&](error_code ec, std::size_t) { capped_ec = ec; });
    io.run();
    CHECK_FALSE(whole_ec);
    CHECK(whole.calls == std::vector<std::size_t>{chunk});
    CHECK(whole.written == data);
    // Asio's default, for contrast: four calls of 64 KiB.
    CHECK_FALSE(capped_ec);
    CHECK(capped.calls.size() == 4);
    CHECK(capped.written == data);
}

TEST_CASE("transfer_whole continues with what the stream did not take", "[transfer_whole]") {
    asio::io_context io;
    const std::string data = pattern(chunk);
    recording_stream stream(io, 100'000);
    const outcome out = write_whole(io, stream, data);
    CHECK_FALSE(out.ec);
    CHECK(out.moved == chunk);
    CHECK(stream.calls == std::vector<std::size_t>{chunk, chunk - 100'000, chunk - 200'000});
    CHECK(stream.written == data);
}

TEST_CASE("transfer_whole ends the operation on an error", "[transfer_whole]") {
    asio::io_context io;
    const std::string data = pattern(chunk);
    recording_stream stream(io, 100'000, 2);
    const outcome out = write_whole(io, stream, data);
    CHECK(out.ec == asio::error::connection_reset);
    CHECK(out.moved == 100'000);
    CHECK(stream.calls.size() == 2);
}

TEST_CASE("transfer_whole reads a 78 KB body in one call", "[transfer_whole]") {
    asio::io_context io;
    recording_stream stream(io, chunk);
    stream.source = pattern(78'000);
    std::string body(78'000, '\0');
    error_code result;
    asio::async_read(stream, asio::buffer(body), mgw::core::transfer_whole,
                     [&](error_code ec, std::size_t) { result = ec; });
    io.run();
    CHECK_FALSE(result);
    CHECK(stream.calls == std::vector<std::size_t>{78'000});
    CHECK(body == stream.source);
}
