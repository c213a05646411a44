// libFuzzer target for the identity proof a client puts in its RSocket SETUP payload: the input
// is split at its first NUL into SETUP data and metadata and read as the proxy reads them. A
// key proof must carry a non-empty key; nothing may be read from past the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "client_identity.hpp"

namespace {

void require(bool condition) {
    if (!condition) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(bytes), size);
    const std::size_t split = input.find('\0');
    const std::string_view data = input.substr(0, split);
    const std::string_view metadata =
        split == std::string_view::npos ? std::string_view() : input.substr(split + 1);
    const mgw::rsocket::identity_proof proof = mgw::rsocket::proof_in_setup(data, metadata);
    using kind = mgw::rsocket::identity_proof::kind;
    if (proof.what == kind::key) {
        require(!proof.access_key.empty());
        require(proof.access_key.size() <= size && proof.app_id.size() <= size);
    } else {
        require(proof.access_key.empty() && proof.app_id.empty());
    }
    return 0;
}
