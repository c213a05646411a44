// Streaming a produced body (stream_body.hpp). The next chunk's production is posted to the
// worker executor before the current chunk is written, so that the other thread picks it up
// while this one copies the current chunk into the socket; their results meet on a channel.
#include <exception>
#include <memory>
#include <tuple>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mgw/http/stream_body.hpp>

namespace mgw::http {

namespace {

// One production's outcome: error_code unused (the channel's own errors), true once the
// producer is done.
using produced_channel =
    boost::asio::experimental::concurrent_channel<void(boost::system::error_code, bool)>;

// Waits for the posted production however the handler is cancelled: it writes into the
// coroutine's frame, which must outlive it, and it is one chunk's work.
auto uncancellable() {
    return boost::asio::bind_cancellation_slot(boost::asio::cancellation_slot(),
                                               boost::asio::as_tuple(boost::asio::use_awaitable));
}

}  // namespace

boost::asio::awaitable<bool> stream_body(response& res, std::size_t chunk_bytes,
                                         chunk_producer produce) {
    const boost::asio::any_io_executor& worker = res.worker();
    std::string ready;  // produced, to be written next
    std::string next;   // being produced while `ready` is written
    ready.reserve(chunk_bytes + stream_chunk_slack);
    bool done = produce(ready, chunk_bytes);
    if (!worker) {
        // Production and writing take turns.
        for (;;) {
            if (!ready.empty() && co_await res.write_chunk(ready)) {
                co_return false;
            }
            if (done) {
                co_return !co_await res.finish();
            }
            ready.clear();
            done = produce(ready, chunk_bytes);
        }
    }
    next.reserve(chunk_bytes + stream_chunk_slack);
    // Shared with each production task: the channel may still be unlocking inside try_send when
    // the writer, woken, returns and this frame is gone.
    const auto produced =
        std::make_shared<produced_channel>(co_await boost::asio::this_coro::executor, 1);
    std::exception_ptr failure;
    while (!done) {
        next.clear();
        boost::asio::post(worker, [&, produced] {
            bool next_done = true;
            try {
                next_done = produce(next, chunk_bytes);
            } catch (...) {
                failure = std::current_exception();
            }
            produced->try_send(boost::system::error_code{}, next_done);
        });
        boost::system::error_code error;
        std::exception_ptr write_failure;
        try {
            if (!ready.empty()) {
                error = co_await res.write_chunk(ready);
            }
        } catch (...) {
            // Not rethrown before the production ends: it writes into this frame.
            write_failure = std::current_exception();
        }
        auto [channel_error, next_done] = co_await produced->async_receive(uncancellable());
        for (const std::exception_ptr& thrown : {failure, write_failure}) {
            if (thrown) {
                std::rethrow_exception(thrown);
            }
        }
        if (error) {
            co_return false;
        }
        std::swap(ready, next);
        done = next_done;
    }
    if (!ready.empty() && co_await res.write_chunk(ready)) {
        co_return false;
    }
    co_return !co_await res.finish();
}

}  // namespace mgw::http
