// libFuzzer target: the HM event decoder on arbitrary lines. It must never crash, throw or
// leak, and what it accepts must satisfy the model's invariants.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <mgw/bosh/hm_event.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    const mgw::bosh::decode_result result = mgw::bosh::decode_hm_event(line);
    if (result.has_error()) {
        if (to_string(result.error().failure()).empty() ||
            &result.error().code.category() != &mgw::bosh::error_category()) {
            std::abort();
        }
        return 0;
    }
    if (const auto* hb = std::get_if<mgw::bosh::hm_heartbeat>(&*result)) {
        for (const mgw::bosh::hm_metric& m : hb->metrics) {
            if (!std::isfinite(m.value)) {
                std::abort();
            }
            for (const char c : mgw::bosh::gauge_name(m.name)) {
                const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                (c >= '0' && c <= '9') || c == '_';
                if (!ok) {
                    std::abort();
                }
            }
        }
    } else {
        if (std::get<mgw::bosh::hm_alert>(*result).severity < 0) {
            std::abort();
        }
    }
    return 0;
}
