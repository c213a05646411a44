// Exporter request targets (Go's url.Values round trip) and the exporter error series.
#include "external_exporter.hpp"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include <mgw/apps/instance_labels.hpp>
#include <mgw/exposition/writer.hpp>

namespace mgw::apps {

namespace {

using core::tag_field;

std::string_view tag_or_empty(const tag_map& tags, std::string_view key) {
    const auto found = tags.find(std::string(key));
    return found == tags.end() ? std::string_view() : std::string_view(found->second);
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Go's url.QueryUnescape: '+' is a space, %XX a byte. nullopt on a malformed escape (the
// config refuses those, so this only guards).
std::optional<std::string> query_unescape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%') {
            if (i + 2 >= text.size() || hex_value(text[i + 1]) < 0 || hex_value(text[i + 2]) < 0) {
                return std::nullopt;
            }
            out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

using query_values = std::vector<std::pair<std::string, std::vector<std::string>>>;

std::vector<std::string>& values_of(query_values& query, std::string_view key) {
    for (auto& [name, values] : query) {
        if (name == key) {
            return values;
        }
    }
    return query.emplace_back(std::string(key), std::vector<std::string>{}).second;
}

// Go's url.ParseQuery, keeping the pairs it keeps: `&`-separated, empty parts skipped, key and
// value unescaped, malformed pairs (bad escapes, `;`) dropped.
query_values parse_query(std::string_view query) {
    query_values out;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty() || pair.find(';') != std::string_view::npos) {
            continue;
        }
        const std::size_t eq = pair.find('=');
        auto key = query_unescape(pair.substr(0, eq));
        auto value =
            query_unescape(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (!key || !value) {
            continue;
        }
        values_of(out, *key).push_back(std::move(*value));
    }
    return out;
}

}  // namespace

core::tag_values exporter_tag_values(const tag_map& app_tags) {
    core::tag_values values{};
    const auto set = [&](tag_field field, std::string_view value) {
        values[static_cast<std::size_t>(field)] = value;
    };
    for (const tag_field field :
         {tag_field::space_name, tag_field::organization_id, tag_field::organization_name,
          tag_field::source_id, tag_field::app_id, tag_field::app_name, tag_field::space_id}) {
        set(field, tag_or_empty(app_tags, core::tag_key(field)));
    }
    set(tag_field::process_type, "external_exporter");
    set(tag_field::component, "promfetcher");
    return values;
}

void append_query_escaped(std::string& out, std::string_view raw) {
    constexpr std::string_view hex = "0123456789ABCDEF";
    for (const char c : raw) {
        const auto u = static_cast<unsigned char>(c);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(c);
        } else if (c == ' ') {
            out.push_back('+');
        } else {
            out.push_back('%');
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 0x0f]);
        }
    }
}

std::string exporter_request_path(const external_exporter_config& exporter,
                                  const core::tag_values& values) {
    // Promfetcher touches the URL's query only when the exporter has params.
    if (exporter.params.empty()) {
        return exporter.metrics_path;
    }
    const std::size_t question = exporter.metrics_path.find('?');
    const std::string_view path = std::string_view(exporter.metrics_path).substr(0, question);
    query_values query;
    if (question != std::string::npos) {
        query = parse_query(std::string_view(exporter.metrics_path).substr(question + 1));
    }
    for (const external_exporter_param& param : exporter.params) {
        std::vector<std::string>& slot = values_of(query, param.key);
        slot.clear();
        for (const core::tag_template& value : param.values) {
            slot.push_back(value.expand(values));
        }
    }
    std::sort(query.begin(), query.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string encoded;
    for (const auto& [key, key_values] : query) {
        for (const std::string& value : key_values) {
            if (!encoded.empty()) {
                encoded.push_back('&');
            }
            append_query_escaped(encoded, key);
            encoded.push_back('=');
            append_query_escaped(encoded, value);
        }
    }
    std::string target(path);
    if (!encoded.empty()) {
        target.push_back('?');
        target += encoded;
    }
    return target;
}

namespace {

constexpr std::string_view exporter_error_name = "promfetcher_scrape_external_exporter_error";
constexpr std::string_view exporter_error_help =
    "Promfetcher scrap external exporter error on your instance";

}  // namespace

std::string render_exporter_errors(std::span<const exporter_failure> failures) {
    if (failures.empty()) {
        return {};
    }
    std::string out = "# HELP ";
    out += exporter_error_name;
    out += ' ';
    out += exporter_error_help;
    out += "\n# TYPE ";
    out += exporter_error_name;
    out += " gauge\n";
    const auto label = [&out](std::string_view name, std::string_view value) {
        out += name;
        out += "=\"";
        exposition::append_escaped_label_value(out, value);
        out += "\",";
    };
    for (const exporter_failure& failure : failures) {
        out += exporter_error_name;
        out += '{';
        for (const std::string_view name : app_label_names) {
            label(name, tag_or_empty(*failure.app_tags, name));
        }
        label("index", "");
        label("instance_id", "");
        label("instance", failure.exporter->host);
        label("name", failure.exporter->name);
        label("reason", failure.reason);
        out.back() = '}';
        out += " 1\n";
    }
    return out;
}

contributed_exposition exporter_errors_contribution(std::span<const exporter_failure> failures) {
    contributed_exposition out;
    if (failures.empty()) {
        return out;
    }
    constexpr std::size_t labels_per_sample = app_label_names.size() + 5;
    // The escaped values, each at most twice its raw size: reserved once, so that the views
    // into it stay valid.
    std::size_t most = 0;
    for (const exporter_failure& failure : failures) {
        for (const std::string_view name : app_label_names) {
            most += 2 * tag_or_empty(*failure.app_tags, name).size();
        }
        most += 2 * (failure.exporter->host.size() + failure.exporter->name.size() +
                     failure.reason.size());
    }
    auto values = std::make_shared<std::string>();
    values->reserve(most);
    exposition::parsed_exposition& model = out.parsed;
    model.source_format = exposition::format::prometheus_text;
    model.families.push_back({.name = exporter_error_name,
                              .type = exposition::metric_type::gauge,
                              .has_type = true,
                              .help = exporter_error_help,
                              .help_present = true,
                              .unit = {},
                              .samples = {.first = 0, .count = 0}});
    model.labels.reserve(failures.size() * labels_per_sample);
    model.samples.reserve(failures.size());
    const auto label = [&](std::string_view name, std::string_view raw) {
        const std::size_t start = values->size();
        exposition::append_escaped_label_value(*values, raw);
        const std::string_view escaped = std::string_view(*values).substr(start);
        model.labels.push_back({.name = name,
                                .value = escaped,
                                .name_was_quoted = false,
                                .value_has_escapes = escaped.size() != raw.size()});
    };
    for (const exporter_failure& failure : failures) {
        const auto first = static_cast<std::uint32_t>(model.labels.size());
        for (const std::string_view name : app_label_names) {
            label(name, tag_or_empty(*failure.app_tags, name));
        }
        label("index", "");
        label("instance_id", "");
        label("instance", failure.exporter->host);
        label("name", failure.exporter->name);
        label("reason", failure.reason);
        model.samples.push_back(
            {.name = exporter_error_name,
             .labels = {.first = first,
                        .count = static_cast<std::uint32_t>(model.labels.size() - first)},
             .value_text = "1",
             .value = 1,
             .timestamp_text = {},
             .exemplar_index = exposition::sample::no_exemplar,
             .raw_labels_size = 0});
        ++model.families.back().samples.count;
    }
    out.storage_bytes = values->capacity();
    out.storage = std::move(values);
    return out;
}

}  // namespace mgw::apps
