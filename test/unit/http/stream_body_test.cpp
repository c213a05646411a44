// stream_body without sockets: a recording sink, an io_context run by two threads, a handler on
// its own strand. The stream must be the producer's bytes in order, the producer must never run
// twice at once nor more than one chunk ahead of the writes, and a failed write or a throwing
// producer must stop the stream, with or without a worker executor.
#include <atomic>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <mgw/http/response.hpp>
#include <mgw/http/stream_body.hpp>

namespace {

namespace net = boost::asio;
using mgw::http::response;

// Records what reaches the connection. Each body write waits on a short timer first, as a
// socket write that does not complete at once would.
class recording_sink final : public mgw::http::response_sink {
  public:
    std::string body;
    std::atomic<int> writes_done{0};
    int fail_at_write = -1;  // this write (0-based) fails
    bool head_sent = false;
    bool ended = false;

    net::awaitable<boost::system::error_code> write_head(const response&, bool) override {
        head_sent = true;
        co_return boost::system::error_code{};
    }
    net::awaitable<boost::system::error_code> write_body(std::string_view data) override {
        net::steady_timer wait(co_await net::this_coro::executor);
        wait.expires_after(std::chrono::microseconds(200));
        co_await wait.async_wait(net::use_awaitable);
        if (writes_done.load() == fail_at_write) {
            co_return net::error::broken_pipe;
        }
        body.append(data);
        ++writes_done;
        co_return boost::system::error_code{};
    }
    net::awaitable<boost::system::error_code> write_end() override {
        ended = true;
        co_return boost::system::error_code{};
    }
};

// Writes `chunks` chunks of distinct lines, checking the contract as it goes.
struct checked_producer {
    int chunks = 0;
    const recording_sink* sink = nullptr;
    std::atomic<int> running{0};
    int calls = 0;
    bool overlapped = false;
    bool ran_ahead = false;
    int throw_call = -1;

    bool operator()(std::string& chunk, std::size_t max) {
        overlapped = overlapped || running.fetch_add(1) != 0;
        // Call n (producing chunk n) may run while chunk n-1 is written, not before chunk n-2
        // was written: two chunks held at most.
        ran_ahead = ran_ahead || (calls >= 2 && sink->writes_done.load() < calls - 1);
        if (calls == throw_call) {
            --running;
            throw std::runtime_error("producer failed");
        }
        for (int line = 0; line < 8 && chunk.size() < max; ++line) {
            chunk += "chunk_" + std::to_string(calls) + "_line_" + std::to_string(line) + "\n";
        }
        ++calls;
        --running;
        return calls == chunks;
    }
};

std::string expected_body(int chunks) {
    std::string out;
    for (int c = 0; c < chunks; ++c) {
        for (int line = 0; line < 8; ++line) {
            out += "chunk_" + std::to_string(c) + "_line_" + std::to_string(line) + "\n";
        }
    }
    return out;
}

struct outcome {
    bool result = false;
    std::exception_ptr error;
};

// Runs stream_body on a strand of a two-thread io_context, the worker being the context itself
// (as the server sets it) or none.
outcome run_stream(recording_sink& sink, checked_producer& producer, bool with_worker) {
    net::io_context io(2);
    response::init init{.sink = &sink};
    if (with_worker) {
        init.worker = io.get_executor();
    }
    response res(init);
    outcome out;
    net::co_spawn(
        net::make_strand(io),
        [&]() -> net::awaitable<void> {
            out.result = co_await mgw::http::stream_body(
                res, 1024,
                [&](std::string& chunk, std::size_t max) { return producer(chunk, max); });
        },
        [&](std::exception_ptr error) { out.error = error; });
    std::thread second([&] { io.run(); });
    io.run();
    second.join();
    return out;
}

}  // namespace

TEST_CASE("stream_body: the producer's chunks arrive whole and in order") {
    for (const bool with_worker : {true, false}) {
        CAPTURE(with_worker);
        recording_sink sink;
        checked_producer producer{.chunks = 200, .sink = &sink};
        const outcome out = run_stream(sink, producer, with_worker);
        REQUIRE_FALSE(out.error);
        CHECK(out.result);
        CHECK(sink.head_sent);
        CHECK(sink.ended);
        CHECK(producer.calls == 200);
        CHECK(sink.body == expected_body(200));
        CHECK_FALSE(producer.overlapped);
        CHECK_FALSE(producer.ran_ahead);
    }
}

TEST_CASE("stream_body: a single chunk, and a producer done at once") {
    for (const bool with_worker : {true, false}) {
        CAPTURE(with_worker);
        recording_sink sink;
        checked_producer producer{.chunks = 1, .sink = &sink};
        const outcome out = run_stream(sink, producer, with_worker);
        REQUIRE_FALSE(out.error);
        CHECK(out.result);
        CHECK(sink.body == expected_body(1));
        CHECK(sink.ended);
    }
}

TEST_CASE("stream_body: a failed write stops the producer and the stream") {
    for (const bool with_worker : {true, false}) {
        CAPTURE(with_worker);
        recording_sink sink;
        sink.fail_at_write = 3;
        checked_producer producer{.chunks = 200, .sink = &sink};
        const outcome out = run_stream(sink, producer, with_worker);
        REQUIRE_FALSE(out.error);
        CHECK_FALSE(out.result);
        CHECK(sink.body == expected_body(3));
        CHECK_FALSE(sink.ended);
        // The chunk being written when the write failed, and at most the one after it.
        CHECK(producer.calls <= 5);
        CHECK_FALSE(producer.overlapped);
    }
}

TEST_CASE("stream_body: a producer that throws ends the handler with its exception") {
    for (const bool with_worker : {true, false}) {
        CAPTURE(with_worker);
        recording_sink sink;
        checked_producer producer{.chunks = 200, .sink = &sink, .throw_call = 4};
        const outcome out = run_stream(sink, producer, with_worker);
        REQUIRE(out.error);
        CHECK_THROWS_WITH(std::rethrow_exception(out.error), "producer failed");
        CHECK(producer.calls == 4);
        CHECK_FALSE(sink.ended);
    }
}
