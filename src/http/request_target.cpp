// Target parsing through Boost.URL (compiled once in mgw_boost).
#include "request_target.hpp"

#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace mgw::http {

bool parse_request_target(std::string_view target, request_target& out) {
    auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed) {
        return false;
    }
    const boost::urls::url_view& url = *parsed;
    boost::urls::encoding_opts opts;
    opts.space_as_plus = true;
    out.path = url.path();
    out.query.clear();
    for (auto param : url.encoded_params()) {
        out.query.emplace_back(param.key.decode(opts),
                               param.has_value ? param.value.decode(opts) : std::string{});
    }
    return true;
}

}  // namespace mgw::http
