// Routes module: the string rules gorouter and Promfetcher apply to route keys and app
// identifiers (URI normalisation, the UUID forms Google's uuid.Parse accepts, path unescaping).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mgw::routes {

// The route table key of a URI as gorouter computes it: ASCII lower case, cut at the first '?',
// one trailing '/' removed.
std::string normalise_uri(std::string_view uri);

// True for the four forms github.com/google/uuid Parse accepts: 36 chars with dashes at 8, 13,
// 18 and 23; the same in braces (38); "urn:uuid:" (any case) + 36 (45); 32 hex digits.
bool is_uuid(std::string_view text);

// Go's url.PathUnescape: %XX decoded, '+' kept. nullopt on a malformed escape, in which case
// Promfetcher keeps the raw value.
std::optional<std::string> path_unescape(std::string_view text);

}  // namespace mgw::routes
