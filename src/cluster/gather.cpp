// The gather state machine: chunks are kept per peer by seq until the last one and every seq
// below it are in, then the peer is done; bytes are capped per peer so a peer (or a stray
// publisher on our inbox) cannot make us hold more than one scrape body's worth.
#include "gather.hpp"

namespace mgw::cluster {

std::string_view to_string(chunk_verdict verdict) {
    switch (verdict) {
        case chunk_verdict::accepted:
            return "accepted";
        case chunk_verdict::duplicate:
            return "duplicate";
        case chunk_verdict::other_request:
            return "other_request";
        case chunk_verdict::unexpected_node:
            return "unexpected_node";
        case chunk_verdict::inconsistent:
            return "inconsistent";
        case chunk_verdict::too_large:
            return "too_large";
        case chunk_verdict::after_peer_gone:
            return "after_peer_gone";
    }
    return "unknown";
}

std::string_view to_string(missing_reason reason) {
    switch (reason) {
        case missing_reason::deadline:
            return "deadline";
        case missing_reason::left:
            return "peer_left";
        case missing_reason::too_large:
            return "too_large";
        case missing_reason::memory:
            return "memory";
    }
    return "unknown";
}

gather_state::gather_state(std::string request, std::vector<std::string> expected,
                           std::size_t max_reply_bytes)
    : request_(std::move(request)), max_reply_bytes_(max_reply_bytes) {
    peers_.reserve(expected.size());
    for (std::string& node : expected) {
        if (find(node) == nullptr) {
            peer_state& p = peers_.emplace_back();
            p.node = std::move(node);
        }
    }
    open_ = peers_.size();
}

gather_state::peer_state* gather_state::find(std::string_view node) {
    for (peer_state& p : peers_) {
        if (p.node == node) {
            return &p;
        }
    }
    return nullptr;
}

void gather_state::close_peer(peer_state& p, peer_phase phase, missing_reason reason) {
    if (p.phase == peer_phase::waiting) {
        --open_;
    }
    p.phase = phase;
    p.reason = reason;
    if (phase != peer_phase::done) {
        p.chunks.clear();
        p.bytes = 0;
    }
}

chunk_verdict gather_state::on_chunk(const chunk_header& header, std::string_view payload) {
    if (header.request != request_) {
        return chunk_verdict::other_request;
    }
    peer_state* p = find(header.node);
    if (p == nullptr) {
        return chunk_verdict::unexpected_node;
    }
    if (p->phase == peer_phase::done) {
        return chunk_verdict::duplicate;
    }
    if (p->phase != peer_phase::waiting) {
        return chunk_verdict::after_peer_gone;
    }
    const auto seq = static_cast<std::int64_t>(header.seq);
    if (p->last_seq >= 0 && (seq > p->last_seq || (header.last && seq != p->last_seq))) {
        return chunk_verdict::inconsistent;
    }
    if (header.last && !p->chunks.empty() && p->chunks.rbegin()->first > header.seq) {
        return chunk_verdict::inconsistent;
    }
    if (p->chunks.contains(header.seq)) {
        return chunk_verdict::duplicate;
    }
    if (p->bytes + payload.size() > max_reply_bytes_) {
        close_peer(*p, peer_phase::given_up, missing_reason::too_large);
        return chunk_verdict::too_large;
    }
    p->bytes += payload.size();
    p->chunks.emplace(header.seq, std::string(payload));
    if (header.last) {
        p->last_seq = seq;
    }
    if (p->last_seq >= 0 && p->chunks.size() == static_cast<std::size_t>(p->last_seq) + 1) {
        close_peer(*p, peer_phase::done, missing_reason::deadline);
    }
    return chunk_verdict::accepted;
}

void gather_state::give_up(std::string_view node, missing_reason reason) {
    if (peer_state* p = find(node); p != nullptr && p->phase == peer_phase::waiting) {
        close_peer(*p, peer_phase::given_up, reason);
    }
}

gather_result gather_state::finish() {
    gather_result result;
    for (peer_state& p : peers_) {
        switch (p.phase) {
            case peer_phase::done: {
                peer_answer& answer = result.answers.emplace_back();
                answer.node = std::move(p.node);
                answer.text.reserve(p.bytes);
                for (auto& [seq, text] : p.chunks) {
                    answer.text.append(text);
                }
                p.chunks.clear();
                break;
            }
            case peer_phase::waiting:
                result.missing.push_back({std::move(p.node), missing_reason::deadline});
                break;
            case peer_phase::given_up:
                result.missing.push_back({std::move(p.node), p.reason});
                break;
        }
    }
    peers_.clear();
    open_ = 0;
    return result;
}

}  // namespace mgw::cluster
