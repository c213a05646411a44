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

std::string render_exporter_errors(std::span<const exporter_failure> failures) {
    if (failures.empty()) {
        return {};
    }
    std::string out =
        "# HELP promfetcher_scrape_external_exporter_error Promfetcher scrap external exporter "
        "error on your instance\n"
        "# TYPE promfetcher_scrape_external_exporter_error gauge\n";
    const auto label = [&out](std::string_view name, std::string_view value) {
        out += name;
        out += "=\"";
        exposition::append_escaped_label_value(out, value);
        out += "\",";
    };
    for (const exporter_failure& failure : failures) {
        out += "promfetcher_scrape_external_exporter_error{";
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

}  // namespace mgw::apps
