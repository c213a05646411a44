// Routes module: the string rules gorouter and Promfetcher apply to route keys and app
// identifiers (URI normalisation, path unescaping). UUIDs are recognised by mgw/text/uuid.hpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mgw::routes {

// The route table key of a URI as gorouter computes it: ASCII lower case, cut at the first '?',
// one trailing '/' removed.
std::string normalise_uri(std::string_view uri);

// Go's url.PathUnescape: %XX decoded, '+' kept. nullopt on a malformed escape, in which case
// Promfetcher keeps the raw value.
std::optional<std::string> path_unescape(std::string_view text);

}  // namespace mgw::routes
