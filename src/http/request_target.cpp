// Target parsing through Boost.URL (compiled once in mgw_boost).
#include "request_target.hpp"

#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace mgw::http {

boost::system::result<request_target> parse_request_target(std::string_view target) {
    auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed) {
        return parsed.error();
    }
    const boost::urls::url_view& url = *parsed;
    boost::urls::encoding_opts opts;
    opts.space_as_plus = true;
    request_target out;
    out.path = url.path();
    for (auto param : url.encoded_params()) {
        out.query.emplace_back(param.key.decode(opts),
                               param.has_value ? param.value.decode(opts) : std::string{});
    }
    return out;
}

}  // namespace mgw::http
