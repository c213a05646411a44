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
    exposition::parse_error error;
    // Raw label blocks, as for the instances: the merge holds every source at once.
    if (check == contribution_check::valid &&
        !exposition::parse(input, format, out.parsed, error, {},
                           exposition::label_storage::raw_when_canonical)) {
        out.parsed.clear();
        out.error = error;
        return out;
    }
    if (!exposition::read_lenient(input, format, out.parsed, error, out.repairs, {},
                                  exposition::label_storage::raw_when_canonical)) {
        out.parsed.clear();
        out.error = error;
    }
    return out;
}

}  // namespace mgw::apps
