// Scrape module: the redirect policy (pure). Only same-scheme, same host:port redirects are
// followed, so a scrape can never be bounced to another app's instance.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <mgw/scrape/target.hpp>

namespace mgw::scrape {

inline constexpr int max_redirects = 3;

// Resolves `location` against the target and the path that answered with the redirect.
// Returns the new request target (path and query), or nullopt when it leaves the target's
// scheme, host or port, or cannot be parsed.
std::optional<std::string> resolve_redirect(const scrape_target& target,
                                            std::string_view current_path,
                                            std::string_view location);

}  // namespace mgw::scrape
