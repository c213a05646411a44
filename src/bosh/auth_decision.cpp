// The names are the `result` label of mgw_bosh_auth_total: a fixed set.
#include <mgw/bosh/auth_decision.hpp>

namespace mgw::bosh {

std::string_view to_string(auth_status status) {
    switch (status) {
        case auth_status::ok:
            return "ok";
        case auth_status::unauthenticated:
            return "unauthenticated";
        case auth_status::forbidden:
            return "forbidden";
        case auth_status::unavailable:
            return "unavailable";
    }
    return "unknown";
}

}  // namespace mgw::bosh
