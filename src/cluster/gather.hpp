// Cluster module: one gather (an app request sent to every live peer) as a pure state machine:
// which peers it waits for, their reply chunks in any order, duplicates, too much data, peers
// that left, and whether the answer is complete or partial when it ends. The shell owns the
// timer and the NATS messages; everything it decides is here and tested without sockets.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "wire.hpp"

namespace mgw::cluster {

enum class chunk_verdict {
    accepted,
    duplicate,        // that seq of that peer is in already (or the peer is done)
    other_request,    // a chunk of another gather (a late reply to an earlier one)
    unexpected_node,  // a node this gather does not wait for (joined after it started, or us)
    inconsistent,     // a seq after the peer's last one, or a second, different last
    too_large,        // the peer's reply exceeds max_reply_bytes: the peer is dropped
    after_peer_gone,  // the peer was given up (left, or dropped for size)
};
std::string_view to_string(chunk_verdict verdict);

// Why a gather's answer lacks a peer.
enum class missing_reason { deadline, left, too_large, memory };
std::string_view to_string(missing_reason reason);

struct peer_answer {
    std::string node;
    std::string text;  // the peer's chunks concatenated in seq order
};

struct missing_peer {
    std::string node;
    missing_reason reason = missing_reason::deadline;
};

struct gather_result {
    std::vector<peer_answer> answers;  // complete peers, in the order they were expected
    std::vector<missing_peer> missing;
    bool partial() const { return !missing.empty(); }
};

class gather_state {
  public:
    // `expected`: the live peers when the request went out (no duplicates, not ourselves).
    gather_state(std::string request, std::vector<std::string> expected,
                 std::size_t max_reply_bytes);

    chunk_verdict on_chunk(const chunk_header& header, std::string_view payload);
    // The peer left the membership: stop waiting for it (its answer is missing).
    void on_peer_left(std::string_view node) { give_up(node, missing_reason::left); }
    // Stop waiting for a peer still open, for `reason` (the memory ceiling refused its bytes):
    // what it sent is dropped and it is missing.
    void give_up(std::string_view node, missing_reason reason);

    // Every expected peer has answered in full or was given up: the gather may end now.
    bool complete() const { return open_ == 0; }
    const std::string& request() const { return request_; }

    // Ends the gather (at completion or at the deadline): the complete answers, and every peer
    // not complete as missing (deadline unless it left or was too large). Call once.
    gather_result finish();

  private:
    enum class peer_phase { waiting, done, given_up };
    struct peer_state {
        std::string node;
        peer_phase phase = peer_phase::waiting;
        std::map<std::uint32_t, std::string> chunks;
        std::int64_t last_seq = -1;  // -1: no last chunk yet
        std::size_t bytes = 0;
        missing_reason reason = missing_reason::deadline;  // when given up
    };

    peer_state* find(std::string_view node);
    void close_peer(peer_state& p, peer_phase phase, missing_reason reason);

    std::string request_;
    std::vector<peer_state> peers_;
    std::size_t max_reply_bytes_;
    std::size_t open_ = 0;
};

}  // namespace mgw::cluster
