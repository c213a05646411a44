// libFuzzer target for the service broker's request decoding: every input is decoded as a
// provision, update and bind body, as promfetcher and forwarder parameters, as a broker path,
// as an API version, as an X-Broker-API-Originating-Identity header and as a DELETE /
// last_operation query id. Accepted requests must hold valid ids and canonical parameters that
// decode to themselves; rejections must be 400/422 with a JSON error body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>

#include "mgw/broker/osb_request.hpp"

namespace {

void require(bool condition) {
    if (!condition) {
        std::abort();
    }
}

bool valid_id(std::string_view id) {
    if (id.empty() || id.size() > 255) {
        return false;
    }
    for (char c : id) {
        if (c <= 0x20 || c >= 0x7f) {
            return false;
        }
    }
    return true;
}

void check_error(const mgw::broker::osb_error& error) {
    require(error.status == 400 || error.status == 422);
    require(!error.description.empty());
    require(&error.code.category() == &mgw::broker::error_category());
    boost::system::error_code ec;
    const auto body = boost::json::parse(error.json(), ec);
    require(!ec && body.is_object() && body.as_object().contains("description"));
}

// Canonical parameters: a JSON object whose keys are sorted at every depth. (Not necessarily
// a fixed point: Boost.JSON 1.81 may read a serialised double back one ulp off. Identical
// requests still compare equal, since both sides go through the same steps.)
bool sorted(const boost::json::value& v) {
    if (const auto* object = v.if_object()) {
        std::string_view previous;
        bool first = true;
        for (const auto& entry : *object) {
            if (!first && !(previous < entry.key())) {
                return false;
            }
            previous = entry.key();
            first = false;
            if (!sorted(entry.value())) {
                return false;
            }
        }
    } else if (const auto* array = v.if_array()) {
        for (const auto& element : *array) {
            if (!sorted(element)) {
                return false;
            }
        }
    }
    return true;
}

void check_canonical(const std::string& parameters) {
    boost::system::error_code ec;
    boost::json::parse_options options;
    options.max_depth = 64;
    const auto value = boost::json::parse(parameters, ec, {}, options);
    require(!ec && value.is_object() && sorted(value));
}

template <typename T, typename Check>
void check(const boost::system::result<T, mgw::broker::osb_error>& decoded, Check&& accepted) {
    if (decoded.has_error()) {
        check_error(decoded.error());
    } else {
        accepted(*decoded);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    using namespace mgw::broker;

    // Decoding is deterministic: re-PUT detection compares canonical strings.
    {
        const auto first = decode_provision(input);
        const auto second = decode_provision(input);
        require(first.has_value() == second.has_value());
        if (first.has_value()) {
            require(first->parameters == second->parameters);
        }
    }
    check(decode_provision(input), [](const provision_request& r) {
        require(valid_id(r.service_id) && valid_id(r.plan_id));
        // Both REQUIRED by OSB 2.13 and 2.14.
        require(valid_id(r.organization_guid) && valid_id(r.space_guid));
        require(r.context.size() <= 6);
        for (const auto& [key, value] : r.context) {
            require(value.size() <= 255);
        }
        check_canonical(r.parameters);
        require(r.parameters.size() <= max_parameters_bytes);
    });
    check(decode_update(input), [](const update_request& r) {
        require(valid_id(r.service_id));
        require(!r.plan_id || valid_id(*r.plan_id));
        if (r.parameters) {
            check_canonical(*r.parameters);
        }
    });
    check(decode_bind(input), [](const bind_request& r) {
        require(valid_id(r.service_id) && valid_id(r.plan_id) && valid_id(r.app_guid));
        check_canonical(r.parameters);
        check(decode_promfetcher_endpoint(r.parameters), [](const std::string& path) {
            require(path.empty() || (path.front() == '/' && path.size() <= 255));
        });
        if (const auto checked = check_forwarder_parameters(r.parameters); !checked) {
            check_error(checked.error());
        }
    });
    check(decode_promfetcher_endpoint(input), [](const std::string& path) {
        require(path.empty() || (path.front() == '/' && !path.starts_with("//")));
    });

    std::string path = "/broker/v2/";
    path.append(input);
    if (const auto parsed = parse_broker_path(path)) {
        if (parsed->what != broker_path::kind::catalog) {
            require(valid_id(parsed->instance_id));
        }
        if (parsed->what == broker_path::kind::binding ||
            parsed->what == broker_path::kind::binding_last_operation) {
            require(valid_id(parsed->binding_id));
        }
    }
    if (const auto version = parse_api_version(input)) {
        require(input.find('.') != std::string_view::npos);
    }

    // The identity header is only ever a claim: well formed (platform id, optional user id)
    // or a 400, whatever the bytes; a context platform that differs is always a 400.
    check(decode_originating_identity(input, ""),
          [&](const std::optional<originating_identity>& identity) {
              require(identity.has_value());
              require(valid_id(identity->platform));
              require(identity->user_id.empty() || valid_id(identity->user_id));
              require(input.size() <= 4096);
              const auto other = decode_originating_identity(input, identity->platform + "x");
              require(other.has_error());
          });
    if (const auto checked = check_query_id("service_id", input, true, "svc"); !checked) {
        check_error(checked.error());
        require(input != "svc");
    } else {
        require(input == "svc");
    }
    return 0;
}
