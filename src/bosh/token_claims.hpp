// BOSH module (internal): reading the claims of a UAA token, shared by the local JWT check and
// the reading of /check_token answers, so that both agree on what a claim says.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace mgw::bosh::claims {

// The string under `key`, or "" when it is absent or not a string.
std::string string_field(const boost::json::object& o, std::string_view key);

// An RFC 7519 NumericDate: a JSON integer, or a double without fraction within int64.
std::optional<std::int64_t> numeric_date(const boost::json::value& v);

// Whether `key` (`scope`, `authorities`) grants `wanted`: an array of strings, or one
// space-separated string (RFC 8693 style). Any other shape grants nothing.
bool grants(const boost::json::object& o, std::string_view key, std::string_view wanted);

}  // namespace mgw::bosh::claims
