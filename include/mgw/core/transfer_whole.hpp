// A completion condition for asio::async_write / async_read that hands the socket everything
// left in one call. Asio's default (transfer_all) caps each send or receive at 64 KiB: a 256 KiB
// answer chunk took four sendmsg calls, each pushing frames and re-arming the TCP pacing timer,
// and a 78 KB scraped body two or more recvmsg calls. On the fleet benchmark the merged answer's
// 357 MB went out in 5,450 sends; in 1,360 the gateway's CPU per answer fell by about a tenth
// (docs/BENCHMARKS.md, issue 17's sixth step). The kernel still takes only what fits and the
// operation continues with the rest.
#pragma once

#include <cstddef>
#include <limits>

#include <boost/system/error_code.hpp>

namespace mgw::core {

struct transfer_whole_t {
    // Asio asks before each send or receive how many bytes it may move at most: zero ends the
    // operation (on an error; a completed transfer ends by itself).
    std::size_t operator()(const boost::system::error_code& ec, std::size_t /*moved*/) const {
        return ec ? 0 : std::numeric_limits<std::size_t>::max();
    }
};

inline constexpr transfer_whole_t transfer_whole{};

}  // namespace mgw::core
