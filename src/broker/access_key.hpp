// Broker module: the metrics-forwarder's access keys. 128 random bits, handed out once in the
// bind response; only their SHA-256 is kept, in the binding store and in the lookup index.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mgw::broker {

// 128 bits from OpenSSL's RAND_bytes, written as 32 lowercase hex digits grouped 8-4-4-4-12
// (the original service's keys looked like UUIDs; clients treat them as opaque). nullopt when
// the random generator fails.
std::optional<std::string> generate_access_key();

// SHA-256 of the key's text, 64 lowercase hex digits: what is stored and looked up.
std::string hash_access_key(std::string_view access_key);

}  // namespace mgw::broker
