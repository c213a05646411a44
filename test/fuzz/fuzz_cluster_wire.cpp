// libFuzzer target for the cluster module's NATS messages, which any publisher on the bus (a
// peer of another version, a stray client) can send: heartbeats, app requests, reply chunks and
// the apps lists peers answer for /v1/sd.
// The whole input is offered to each decoder; whatever decodes keeps the decoder's promises and
// survives an encode/decode round trip unchanged, and decoding is deterministic. The input is
// also cut at 0x1E bytes into a stream of messages fed, as the shell feeds them, to a gather
// (decoded chunks) and to the membership table (decoded heartbeats): the gather never holds more
// than its byte cap per peer, accounts for every expected peer once, and the table never lists
// the node itself. An exception escaping a decoder ends the run (libFuzzer reports it).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/app_list.hpp"
#include "cluster/gather.hpp"
#include "cluster/membership.hpp"
#include "cluster/wire.hpp"

namespace {

using namespace mgw::cluster;

void require(bool condition) {
    if (!condition) {
        std::abort();
    }
}

bool same(const heartbeat& a, const heartbeat& b) {
    return a.node == b.node && a.boot == b.boot && a.interval == b.interval &&
           a.version == b.version && a.answers == b.answers;
}

bool same(const app_request_message& a, const app_request_message& b) {
    return a.kind == b.kind && a.request == b.request && a.from == b.from &&
           a.identifier == b.identifier && a.app_guid == b.app_guid && a.tags == b.tags &&
           a.timeout == b.timeout;
}

bool same(const chunk_header& a, const chunk_header& b) {
    return a.node == b.node && a.request == b.request && a.seq == b.seq && a.last == b.last;
}

void check_heartbeat(std::string_view message) {
    const auto hb = decode_heartbeat(message);
    const auto again = decode_heartbeat(message);
    require(hb.has_value() == again.has_value());
    if (!hb) {
        return;
    }
    require(same(*hb, *again));
    require(!hb->node.empty() && !hb->boot.empty());
    require(hb->interval.count() > 0 && hb->interval.count() <= 3'600'000);
    require((hb->answers & ~mgw::cluster::all_kinds) == 0);
    const auto round_trip = decode_heartbeat(encode_heartbeat(*hb));
    require(round_trip.has_value() && same(*round_trip, *hb));
}

void check_app_request(std::string_view message) {
    const auto request = decode_app_request(message);
    const auto again = decode_app_request(message);
    require(request.has_value() == again.has_value());
    if (!request) {
        return;
    }
    require(same(*request, *again));
    require(!request->request.empty() && !request->from.empty());
    // Only a request about one app names it; the node-wide kinds (connected, proxy, apps) need
    // none.
    require(request->kind != request_kind::app || !request->app_guid.empty());
    require(request->timeout.count() >= 0 && request->timeout.count() <= 3'600'000);
    const auto round_trip = decode_app_request(encode_app_request(*request));
    require(round_trip.has_value() && same(*round_trip, *request));
}

void check_chunk(std::string_view message) {
    const auto chunk = decode_chunk(message);
    const auto again = decode_chunk(message);
    require(chunk.has_value() == again.has_value());
    if (!chunk) {
        return;
    }
    require(same(chunk->header, again->header) && chunk->payload == again->payload);
    require(!chunk->header.node.empty() && chunk->header.seq <= max_chunk_seq);
    // The payload is the message's tail, a view into it.
    require(chunk->payload.data() >= message.data() &&
            chunk->payload.data() + chunk->payload.size() == message.data() + message.size());
    const std::string encoded = encode_chunk(chunk->header, chunk->payload);
    const auto round_trip = decode_chunk(encoded);
    require(round_trip.has_value() && same(round_trip->header, chunk->header) &&
            round_trip->payload == chunk->payload);
}

bool same(const std::vector<mgw::apps::remote_listing>& a,
          const std::vector<mgw::apps::remote_listing>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].name != b[i].name || a[i].apps.size() != b[i].apps.size()) {
            return false;
        }
        for (std::size_t j = 0; j < a[i].apps.size(); ++j) {
            if (a[i].apps[j].app_guid != b[i].apps[j].app_guid ||
                a[i].apps[j].labels != b[i].apps[j].labels) {
                return false;
            }
        }
    }
    return true;
}

// A peer's apps list (/v1/sd): a decoded list names valid sources and apps with GUIDs, and
// survives encode/decode unchanged.
void check_app_list(std::string_view message) {
    const auto list = decode_app_list(message);
    const auto again = decode_app_list(message);
    require(list.has_value() == again.has_value());
    if (!list) {
        return;
    }
    require(same(*list, *again));
    std::vector<mgw::apps::directory_listing> directories;
    for (const mgw::apps::remote_listing& listing : *list) {
        require(!listing.name.empty() && listing.name.size() <= 32);
        for (const mgw::apps::known_app& app : listing.apps) {
            require(!app.app_guid.empty());
        }
        directories.push_back({.name = listing.name, .apps = listing.apps});
    }
    const auto round_trip = decode_app_list(encode_app_list(directories));
    require(round_trip.has_value() && same(*round_trip, *list));
}

// The messages of one input as the shell receives them: a gather waiting for two peers (and
// the chunks of the node itself or of other requests arriving too), and the membership table.
void check_stream(std::string_view input) {
    constexpr std::size_t max_reply_bytes = 256;
    const std::vector<std::string> expected{"a", "b"};
    gather_state gather("r", expected, max_reply_bytes);
    membership_table members("self", "boot-1");
    auto now = membership_table::clock::time_point{};
    std::size_t accepted_bytes = 0;
    while (true) {
        const std::size_t cut = input.find('\x1e');
        const std::string_view message = input.substr(0, cut);
        if (const auto chunk = decode_chunk(message)) {
            const bool was_complete = gather.complete();
            const chunk_verdict verdict = gather.on_chunk(chunk->header, chunk->payload);
            require(!to_string(verdict).empty() && to_string(verdict) != "unknown");
            if (verdict == chunk_verdict::accepted) {
                require(!was_complete);
                accepted_bytes += chunk->payload.size();
            }
            if (was_complete) {
                require(verdict != chunk_verdict::accepted);
            }
        }
        if (const auto hb = decode_heartbeat(message)) {
            now += std::chrono::milliseconds(500);
            members.observe(*hb, now);
            for (const auto& gone : members.expire(now)) {
                gather.on_peer_left(gone.node);
            }
            require(!members.is_live("self"));
            for (const std::string& node : members.live_peers()) {
                require(node != "self");
            }
        }
        if (cut == std::string_view::npos) {
            break;
        }
        input.remove_prefix(cut + 1);
    }
    const bool complete = gather.complete();
    const gather_result result = gather.finish();
    require(result.answers.size() + result.missing.size() == expected.size());
    // Complete: every peer answered or was given up for a reason; otherwise some are missing
    // at the deadline.
    std::size_t at_deadline = 0;
    for (const missing_peer& peer : result.missing) {
        at_deadline += peer.reason == missing_reason::deadline ? 1 : 0;
    }
    require(complete == (at_deadline == 0));
    std::set<std::string> seen;
    std::size_t answered_bytes = 0;
    for (const peer_answer& answer : result.answers) {
        require(answer.text.size() <= max_reply_bytes);
        require(seen.insert(answer.node).second);
        answered_bytes += answer.text.size();
    }
    for (const missing_peer& peer : result.missing) {
        require(seen.insert(peer.node).second);
        require(!to_string(peer.reason).empty() && to_string(peer.reason) != "unknown");
    }
    require(seen == std::set<std::string>(expected.begin(), expected.end()));
    require(answered_bytes <= accepted_bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A private copy, exactly `size` bytes long, so reads past the end are caught by ASan.
    const std::string buffer(reinterpret_cast<const char*>(data), size);
    check_heartbeat(buffer);
    check_app_request(buffer);
    check_chunk(buffer);
    check_app_list(buffer);
    check_stream(buffer);
    return 0;
}
