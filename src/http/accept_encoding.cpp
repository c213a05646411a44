// Accept-Encoding parsing: a comma-separated list of codings, each with optional parameters of
// which only q matters.
#include "accept_encoding.hpp"

#include <optional>

#include <mgw/text/ascii.hpp>

namespace mgw::http {
namespace {

using text::iequals;
using text::istarts_with;
using text::trim_whitespace;

// q-values have at most three decimals (RFC 9110 §12.4.2); anything unparsable counts as
// "not acceptable" so that garbage never turns compression on.
bool q_is_nonzero(std::string_view q) {
    q = trim_whitespace(q);
    if (q.empty() || (q[0] != '0' && q[0] != '1')) {
        return false;
    }
    if (q[0] == '1') {
        return true;
    }
    for (char c : q.substr(1)) {
        if (c >= '1' && c <= '9') {
            return true;
        }
        if (c != '.' && c != '0') {
            return false;
        }
    }
    return false;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
    std::optional<bool> gzip;
    std::optional<bool> wildcard;
    while (!accept_encoding.empty()) {
        auto comma = accept_encoding.find(',');
        std::string_view item = accept_encoding.substr(0, comma);
        accept_encoding = comma == std::string_view::npos ? std::string_view{}
                                                          : accept_encoding.substr(comma + 1);

        auto semi = item.find(';');
        std::string_view coding = trim_whitespace(item.substr(0, semi));
        bool acceptable = true;
        while (semi != std::string_view::npos) {
            item = item.substr(semi + 1);
            semi = item.find(';');
            std::string_view param = trim_whitespace(item.substr(0, semi));
            if (istarts_with(param, "q=")) {
                acceptable = q_is_nonzero(param.substr(2));
            }
        }
        if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
            gzip = gzip.value_or(false) || acceptable;
        } else if (coding == "*") {
            wildcard = acceptable;
        }
    }
    if (gzip) {
        return *gzip;
    }
    return wildcard.value_or(false);
}

}  // namespace mgw::http
