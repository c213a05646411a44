// UTF-8 validation of a whole exposition body before tokenizing (both formats require UTF-8).
#pragma once

#include <cstddef>
#include <string_view>

namespace mgw::exposition::detail {

// Returns the offset of the first byte that starts an invalid UTF-8 sequence (overlong forms,
// surrogates, code points above U+10FFFF, truncated sequences), or text.size() when valid.
std::size_t find_invalid_utf8(std::string_view text);

// Number of code points in valid UTF-8 text.
std::size_t count_code_points(std::string_view text);

}  // namespace mgw::exposition::detail
