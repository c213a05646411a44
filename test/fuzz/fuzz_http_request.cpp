// libFuzzer target for the HTTP request head and body as the server reads them: the request
// reader (Beast's parser under the server's limits, the RFC 9112 framing checks, empty lines
// skipped, chunk lines and trailers bounded). Each input is one connection's byte stream, read
// twice: in one piece and in pieces whose sizes the input itself picks. Both readings must agree
// request by request (what TCP splits where must never change what is read: that is how
// smuggling hides), every request read must have unambiguous framing, and the reader's memory
// stays within its bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>

#include "http/request_framing.hpp"
#include "http/request_reader.hpp"

namespace {

using mgw::http::request_reader;
using mgw::http::request_refusal;
namespace beast_http = boost::beast::http;

constexpr std::size_t header_limit = 2048;
constexpr std::size_t read_size = 1024;
constexpr std::size_t body_limit = 4096;

void require(bool condition) {
    if (!condition) {
        std::abort();
    }
}

struct reading {
    std::vector<std::string> requests;  // method, target, version and body of each
    std::optional<request_refusal> refused;
};

// What the server relies on for every request it hands to a route.
bool only_chunked(std::string_view list) {
    std::size_t elements = 0;
    bool chunked = false;
    while (true) {
        const std::size_t comma = list.find(',');
        std::string_view element = list.substr(0, comma);
        while (!element.empty() && (element.front() == ' ' || element.front() == '\t')) {
            element.remove_prefix(1);
        }
        while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) {
            element.remove_suffix(1);
        }
        if (!element.empty()) {
            ++elements;
            chunked = boost::beast::iequals(element, "chunked");
        }
        if (comma == std::string_view::npos) {
            return elements == 1 && chunked;
        }
        list.remove_prefix(comma + 1);
    }
}

void check_framing(const mgw::http::request_message& request) {
    require(request.version() == 10 || request.version() == 11);
    std::size_t hosts = 0;
    std::size_t lengths = 0;
    std::size_t codings = 0;
    std::string coding_list;  // every Transfer-Encoding line, as one list (RFC 9110 §5.3)
    for (const auto& field : request) {
        hosts += field.name() == beast_http::field::host ? 1 : 0;
        lengths += field.name() == beast_http::field::content_length ? 1 : 0;
        if (field.name() == beast_http::field::transfer_encoding) {
            ++codings;
            coding_list += ',';
            coding_list += field.value();
        }
    }
    require(hosts <= 1 && lengths <= 1);
    require(request.version() == 10 || hosts == 1);
    require(lengths == 0 || codings == 0);
    if (codings > 0) {
        require(request.version() == 11);
        // One non-empty list element, `chunked`: RFC 9110 §5.6.1 has recipients ignore empty
        // elements (`, chunked` is `chunked`), as the framing check does.
        require(only_chunked(coding_list));
    }
    require(request.body().size() <= body_limit);
}

// Feeds `bytes` in pieces of the sizes `sizes` picks (cycled), parsing after each.
reading read(std::string_view bytes, std::string_view sizes) {
    request_reader reader({.header_limit = header_limit, .read_size = read_size});
    reading out;
    std::size_t at = 0;
    std::size_t turn = 0;
    while (!out.refused) {
        // Parse what is buffered before reading more, as the connection does.
        bool more = true;
        while (more) {
            switch (reader.parse()) {
                case request_reader::status::need_more:
                    more = false;
                    break;
                case request_reader::status::head:
                    reader.read_body(body_limit);
                    break;
                case request_reader::status::complete: {
                    const auto request = reader.take();
                    check_framing(request);
                    std::string summary(request.method_string());
                    summary += ' ';
                    summary += request.target();
                    summary += ' ';
                    summary += std::to_string(request.version());
                    summary += ' ';
                    summary += request.body();
                    out.requests.push_back(std::move(summary));
                    break;
                }
                case request_reader::status::refused:
                    out.refused = reader.refusal();
                    more = false;
                    break;
            }
        }
        // A buffer, a head in progress and a body are the most it may hold.
        require(reader.held_bytes() <=
                (header_limit + read_size + 4096) + header_limit + 2 * body_limit);
        if (out.refused || at == bytes.size()) {
            break;
        }
        auto buffer = reader.prepare();
        require(buffer.size() > 0);
        std::size_t piece = buffer.size();
        if (!sizes.empty()) {
            piece = std::min<std::size_t>(
                piece, 1 + static_cast<unsigned char>(sizes[turn++ % sizes.size()]));
        }
        piece = std::min(piece, bytes.size() - at);
        std::memcpy(buffer.data(), bytes.data() + at, piece);
        reader.commit(piece);
        at += piece;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    // The first line (up to 16 bytes) picks the piece sizes; the rest is the byte stream.
    std::string_view sizes;
    std::string_view bytes = input;
    if (const std::size_t newline = input.find('\n');
        newline != std::string_view::npos && newline <= 16 && input.starts_with('#')) {
        sizes = input.substr(1, newline - 1);
        bytes = input.substr(newline + 1);
    }
    const reading whole = read(bytes, {});
    const reading pieces = read(bytes, sizes.empty() ? std::string_view("\x00", 1) : sizes);
    // The same requests, whatever the split. Beast may notice garbage only once more bytes
    // come (one reading refused, the other still waiting at the end of the input), but never
    // take it for a request in one reading and not the other.
    require(whole.requests == pieces.requests);
    if (whole.refused && pieces.refused) {
        require(*whole.refused == *pieces.refused);
    }
    return 0;
}
