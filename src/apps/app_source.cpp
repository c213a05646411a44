// The one place where a source's body received as text becomes a contribution: every source
// that gets text from the network (RSocket clients, external exporters, cluster peers) reads it
// here, so they all read it the same way, with the same parser calls.
#include <mgw/apps/app_source.hpp>

namespace mgw::apps {

contributed_exposition read_contribution(std::string body, exposition::format format,
                                         contribution_check check) {
    contributed_exposition out;
    auto text = std::make_shared<const std::string>(std::move(body));
    const std::string_view input = *text;
    out.storage_bytes = text->capacity();
    out.storage = std::move(text);
    // Raw label blocks, as for the instances: the merge holds every source at once.
    if (check == contribution_check::valid) {
        if (auto valid = exposition::parse(input, format, out.parsed, {},
                                           exposition::label_storage::raw_when_canonical);
            !valid) {
            out.parsed.clear();
            out.error = valid.error();
            return out;
        }
    }
    if (auto read = exposition::read_lenient(input, format, out.parsed, out.repairs, {},
                                             exposition::label_storage::raw_when_canonical);
        !read) {
        out.parsed.clear();
        out.error = read.error();
    }
    return out;
}

}  // namespace mgw::apps
