// HTTP server module: streaming a body that a producer writes piece by piece (a merger, a
// renderer). Rendering a large answer and writing it are each about half of its cost; with a
// worker executor the next chunk is rendered on the other thread while the previous one is on
// the wire, so one answer uses both cores, holding two chunks instead of one.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include <mgw/http/response.hpp>

namespace mgw::http {

// The chunk size of a streamed answer. With the next chunk rendered on the other thread while
// one is written, 256 KiB measured best on the fleet answer: 64 KiB chunks spent the gain on the
// hand-over per chunk, 1 MiB ones waited longer for the first. 512 KiB, with each chunk handed
// to the socket whole, spent 5 % less CPU on the fleet answer, but every answer held twice as
// much, and under the chaos test's memory ceiling (answers held by clients that stop reading)
// a reconnecting RSocket client then missed its key within 20 s in 3 of 9 runs: not kept.
inline constexpr std::size_t stream_chunk_bytes = std::size_t{256} << 10;
// Room past `max_bytes` for the line a producer finishes.
inline constexpr std::size_t stream_chunk_slack = 4096;
// What a stream of `chunk_bytes` chunks holds at most: one chunk written, one produced. For the
// caller's lease (the gzip form is the response's, on top of this).
constexpr std::size_t stream_held_bytes(std::size_t chunk_bytes) {
    return 2 * (chunk_bytes + stream_chunk_slack);
}

// Appends to `chunk` about `max_bytes` at most; true once everything is written.
using chunk_producer = std::function<bool(std::string& chunk, std::size_t max_bytes)>;

// Streams what `produce` writes, chunk by chunk, and finishes the response. Each chunk's write
// is awaited before the chunk after next is produced, so a slow client slows the producer down
// and at most two chunks are held. When the response has a worker executor (response::worker),
// `produce` runs there while the previous chunk is written: never two calls at once, but not
// on the handler's strand, so it must touch only what the handler owns and is not otherwise
// using (the handler is suspended here until the stream ends). Returns false when the client
// went away (nothing more is produced).
boost::asio::awaitable<bool> stream_body(response& res, std::size_t chunk_bytes,
                                         chunk_producer produce);

}  // namespace mgw::http
