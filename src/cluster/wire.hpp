// Cluster module: the messages gateways exchange over NATS, as pure encode/decode functions
// (no I/O, no exceptions; a message that does not decode is nullopt and the caller counts it).
// Heartbeats and app requests are one JSON object each; a reply chunk is a JSON header line,
// '\n', then raw payload bytes (exposition text), so the payload needs no escaping.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mgw::cluster {

// What a request asks a peer for.
enum class request_kind {
    app,        // what it holds of one app from its non-scrape sources (mgw.<cluster>.q.app)
    connected,  // every RSocket client connected to it (mgw.<cluster>.q.connected)
    proxy,      // its RSocket proxy's own metrics, /metrics/proxy (mgw.<cluster>.q.proxy)
    apps,       // the apps its directories know, for /v1/sd (mgw.<cluster>.q.apps)
};
inline constexpr std::array<request_kind, 4> every_request_kind{
    request_kind::app, request_kind::connected, request_kind::proxy, request_kind::apps};
std::string_view to_string(request_kind kind);
std::optional<request_kind> request_kind_from(std::string_view name);

// The kinds of request a node answers, as a set of bits (1 << kind).
using answered_kinds = std::uint32_t;
constexpr answered_kinds bit(request_kind kind) {
    return answered_kinds{1} << static_cast<unsigned>(kind);
}
// Every kind this version answers.
inline constexpr answered_kinds all_kinds = [] {
    answered_kinds all = 0;
    for (const request_kind kind : every_request_kind) {
        all |= bit(kind);
    }
    return all;
}();
// What a node whose heartbeat lists none answers: the versions before the list had only these.
inline constexpr answered_kinds first_kinds = bit(request_kind::app) | bit(request_kind::connected);

// A node saying it is alive, every `interval`, on mgw.<cluster>.node.hb.
struct heartbeat {
    std::string node;  // node id
    std::string boot;  // new at every process start: a restart is a new boot id
    std::chrono::milliseconds interval{1000};
    std::string version;
    // What it answers: a gather waits only for the peers that answer its kind, so during a
    // rolling upgrade an older node is left out at once instead of at the gather's timeout.
    // Names this version does not know are ignored (a newer peer's).
    answered_kinds answers = all_kinds;
};

std::string encode_heartbeat(const heartbeat& hb);
std::optional<heartbeat> decode_heartbeat(std::string_view message);

// A request to every live peer; the answer goes to the message's reply subject.
struct app_request_message {
    request_kind kind = request_kind::app;
    std::string request;                      // id, unique per requesting node
    std::string from;                         // requesting node id
    std::string identifier;                   // as the app was asked for, unescaped
    std::string app_guid;                     // canonical app GUID (never empty in an app request)
    std::map<std::string, std::string> tags;  // the first instance's route tags, if any
    std::chrono::milliseconds timeout{0};     // time left to the requester's deadline
};

std::string encode_app_request(const app_request_message& request);
std::optional<app_request_message> decode_app_request(std::string_view message);

// One chunk of a reply. Chunks of a reply are numbered from 0; the one with `last` set closes
// it, so a reply of n chunks is complete once seq 0..n-1 are all in, whatever their order.
struct chunk_header {
    std::string node;
    std::string request;
    std::uint32_t seq = 0;
    bool last = false;
};

// The largest chunk sequence number accepted (far above any reply a gather admits).
inline constexpr std::uint32_t max_chunk_seq = 1u << 20;

struct decoded_chunk {
    chunk_header header;
    std::string_view payload;  // a view into the message
};

std::string encode_chunk(const chunk_header& header, std::string_view payload);
std::optional<decoded_chunk> decode_chunk(std::string_view message);

// `text` cut into pieces of at most `chunk_bytes` (> 0) bytes, in order; an empty text is one
// empty piece (a reply always has a last chunk). The receiver concatenates them in seq order,
// so the cuts may fall anywhere.
std::vector<std::string_view> split_chunks(std::string_view text, std::size_t chunk_bytes);

}  // namespace mgw::cluster
