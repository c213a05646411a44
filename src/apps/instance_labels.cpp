// The nine CF labels of an instance: ids and names from the route's tags, the instance index
// twice (`index`, `instance_id`, as Promfetcher writes them) and the instance's address.
#include <mgw/apps/instance_labels.hpp>
#include <mgw/exposition/writer.hpp>

namespace mgw::apps {

void instance_labels::assign(const routes::endpoint& endpoint) {
    const std::string_view raw_values[cf_label_names.size()] = {
        endpoint.tag("organization_id"),   endpoint.tag("space_id"),    endpoint.tag("app_id"),
        endpoint.tag("organization_name"), endpoint.tag("space_name"),  endpoint.tag("app_name"),
        endpoint.tag("instance_id"),       endpoint.tag("instance_id"), endpoint.address};
    for (std::size_t i = 0; i < cf_label_names.size(); ++i) {
        values_[i].clear();
        exposition::append_escaped_label_value(values_[i], raw_values[i]);
        labels_[i] =
            exposition::label{.name = cf_label_names[i],
                              .value = values_[i],
                              .name_was_quoted = false,
                              .value_has_escapes = values_[i].size() != raw_values[i].size()};
    }
}

std::string instance_labels::rendered() const {
    std::string out;
    for (std::size_t i = 0; i < cf_label_names.size(); ++i) {
        if (i != 0) {
            out.push_back(',');
        }
        out += cf_label_names[i];
        out += "=\"";
        out += values_[i];
        out.push_back('"');
    }
    return out;
}

}  // namespace mgw::apps
