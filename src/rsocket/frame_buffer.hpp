// RSocket module (internal): how a frame's buffer grows while its bytes arrive, leasing each
// growth first. A peer decides a frame's size, so the buffer follows the bytes that arrived, not
// what the peer announced or the most a read may bring: a SETUP of a hundred bytes holds a few
// KiB, and a peer announcing 16 MiB and sending little holds little. Pure (no I/O): the
// transports call it between reads, the tests without sockets.
#pragma once

#include <cstddef>
#include <string>

#include <mgw/rsocket/connection_memory.hpp>

namespace mgw::rsocket {

// The first read of a message whose length is unknown (WebSocket), and the most one read may
// bring on either transport.
inline constexpr std::size_t first_read_bytes = std::size_t{4} << 10;
inline constexpr std::size_t read_chunk_bytes = std::size_t{64} << 10;

// Makes room for `need` bytes in `frame` (doubling its capacity, never past `limit` unless
// `need` is), leasing the capacity in `bytes` before it is allocated. False when the lease is
// refused; `frame` is then unchanged.
bool grow_frame(std::string& frame, std::size_t need, std::size_t limit, held_bytes& bytes);

// WebSocket: room in `frame` for the next read of a message of at most `most` bytes, the read
// growing with what arrived (from first_read_bytes, doubling, by at most read_chunk_bytes at a
// time). The spare capacity is the next read's buffer. False when the lease is refused.
bool reserve_next_read(std::string& frame, std::size_t most, held_bytes& bytes);

}  // namespace mgw::rsocket
