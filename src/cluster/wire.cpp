// The cluster's NATS messages: JSON through Boost.JSON with every field checked for its type,
// so that a peer of another version or a stray publisher gives nullopt, never an exception.
#include "wire.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace mgw::cluster {

namespace json = boost::json;

namespace {

std::optional<json::object> parse_object(std::string_view text) {
    boost::system::error_code ec;
    json::value value = json::parse(json::string_view(text.data(), text.size()), ec);
    if (ec || !value.is_object()) {
        return std::nullopt;
    }
    return std::move(value.as_object());
}

bool get_string(const json::object& o, std::string_view key, std::string& out) {
    const json::value* v = o.if_contains(json::string_view(key.data(), key.size()));
    if (v == nullptr || !v->is_string()) {
        return false;
    }
    out.assign(v->as_string().data(), v->as_string().size());
    return true;
}

bool get_uint(const json::object& o, std::string_view key, std::uint64_t& out) {
    const json::value* v = o.if_contains(json::string_view(key.data(), key.size()));
    if (v == nullptr) {
        return false;
    }
    if (v->is_uint64()) {
        out = v->as_uint64();
        return true;
    }
    if (v->is_int64() && v->as_int64() >= 0) {
        out = static_cast<std::uint64_t>(v->as_int64());
        return true;
    }
    return false;
}

json::string_view js(std::string_view s) {
    return {s.data(), s.size()};
}

}  // namespace

std::string encode_heartbeat(const heartbeat& hb) {
    json::object o;
    o["node"] = js(hb.node);
    o["boot"] = js(hb.boot);
    o["interval_ms"] = static_cast<std::uint64_t>(hb.interval.count());
    o["version"] = js(hb.version);
    json::array answers;
    for (const request_kind kind : every_request_kind) {
        if ((hb.answers & bit(kind)) != 0) {
            answers.push_back(js(to_string(kind)));
        }
    }
    o["answers"] = std::move(answers);
    return json::serialize(o);
}

std::optional<heartbeat> decode_heartbeat(std::string_view message) {
    const auto o = parse_object(message);
    heartbeat hb;
    std::uint64_t interval = 0;
    if (!o || !get_string(*o, "node", hb.node) || !get_string(*o, "boot", hb.boot) ||
        !get_uint(*o, "interval_ms", interval) || hb.node.empty() || hb.boot.empty() ||
        interval == 0 || interval > 3'600'000) {
        return std::nullopt;
    }
    hb.interval = std::chrono::milliseconds(interval);
    get_string(*o, "version", hb.version);  // informative only
    hb.answers = first_kinds;
    if (const json::value* answers = o->if_contains("answers"); answers != nullptr) {
        if (!answers->is_array()) {
            return std::nullopt;
        }
        hb.answers = 0;
        for (const json::value& name : answers->as_array()) {
            if (!name.is_string()) {
                return std::nullopt;
            }
            const json::string& text = name.as_string();
            if (const auto kind = request_kind_from(std::string_view(text.data(), text.size()))) {
                hb.answers |= bit(*kind);
            }
        }
    }
    return hb;
}

std::string_view to_string(request_kind kind) {
    switch (kind) {
        case request_kind::app:
            return "app";
        case request_kind::connected:
            return "connected";
        case request_kind::proxy:
            return "proxy";
        case request_kind::apps:
            return "apps";
    }
    return "app";
}

std::optional<request_kind> request_kind_from(std::string_view name) {
    for (const request_kind kind : every_request_kind) {
        if (name == to_string(kind)) {
            return kind;
        }
    }
    return std::nullopt;
}

std::string encode_app_request(const app_request_message& request) {
    json::object o;
    o["kind"] = js(to_string(request.kind));
    o["request"] = js(request.request);
    o["from"] = js(request.from);
    o["identifier"] = js(request.identifier);
    o["app_guid"] = js(request.app_guid);
    json::object tags;
    for (const auto& [name, value] : request.tags) {
        tags[js(name)] = js(value);
    }
    o["tags"] = std::move(tags);
    o["timeout_ms"] =
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, request.timeout.count()));
    return json::serialize(o);
}

std::optional<app_request_message> decode_app_request(std::string_view message) {
    const auto o = parse_object(message);
    app_request_message request;
    std::uint64_t timeout = 0;
    if (!o || !get_string(*o, "request", request.request) ||
        !get_string(*o, "from", request.from) ||
        !get_string(*o, "identifier", request.identifier) ||
        !get_string(*o, "app_guid", request.app_guid) || !get_uint(*o, "timeout_ms", timeout) ||
        request.request.empty() || request.from.empty() || timeout > 3'600'000) {
        return std::nullopt;
    }
    std::string kind = "app";
    if (o->contains("kind") && !get_string(*o, "kind", kind)) {
        return std::nullopt;
    }
    const auto known = request_kind_from(kind);
    if (!known || (*known == request_kind::app && request.app_guid.empty())) {
        return std::nullopt;
    }
    request.kind = *known;
    request.timeout = std::chrono::milliseconds(timeout);
    if (const json::value* tags = o->if_contains("tags"); tags != nullptr) {
        if (!tags->is_object()) {
            return std::nullopt;
        }
        for (const auto& [name, value] : tags->as_object()) {
            if (!value.is_string()) {
                return std::nullopt;
            }
            request.tags.emplace(std::string(name), std::string(value.as_string()));
        }
    }
    return request;
}

std::string encode_chunk(const chunk_header& header, std::string_view payload) {
    json::object o;
    o["node"] = js(header.node);
    o["request"] = js(header.request);
    o["seq"] = header.seq;
    o["last"] = header.last;
    std::string out = json::serialize(o);
    out.reserve(out.size() + 1 + payload.size());
    out.push_back('\n');
    out.append(payload);
    return out;
}

std::optional<decoded_chunk> decode_chunk(std::string_view message) {
    const std::size_t newline = message.find('\n');
    if (newline == std::string_view::npos) {
        return std::nullopt;
    }
    const auto o = parse_object(message.substr(0, newline));
    decoded_chunk chunk;
    std::uint64_t seq = 0;
    if (!o || !get_string(*o, "node", chunk.header.node) ||
        !get_string(*o, "request", chunk.header.request) || !get_uint(*o, "seq", seq) ||
        seq > max_chunk_seq || chunk.header.node.empty()) {
        return std::nullopt;
    }
    const json::value* last = o->if_contains("last");
    if (last == nullptr || !last->is_bool()) {
        return std::nullopt;
    }
    chunk.header.seq = static_cast<std::uint32_t>(seq);
    chunk.header.last = last->as_bool();
    chunk.payload = message.substr(newline + 1);
    return chunk;
}

std::vector<std::string_view> split_chunks(std::string_view text, std::size_t chunk_bytes) {
    std::vector<std::string_view> pieces;
    if (chunk_bytes == 0) {
        chunk_bytes = 1;
    }
    do {
        const std::size_t take = std::min(chunk_bytes, text.size());
        pieces.push_back(text.substr(0, take));
        text.remove_prefix(take);
    } while (!text.empty());
    return pieces;
}

}  // namespace mgw::cluster
