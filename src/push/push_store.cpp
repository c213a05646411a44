// Each app holds its families by sanitised name, each family its series by (instance index,
// rendered labels); the rendered labels are both the key and the raw label block of the model
// a scrape gets, so a scrape only copies them. One mutex per app: the I/O threads push different
// apps at once.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <set>
#include <tuple>

#include <mgw/apps/instance_labels.hpp>
#include <mgw/exposition/writer.hpp>
#include <mgw/push/push_store.hpp>
#include <mgw/text/ascii.hpp>
#include <mgw/text/uuid.hpp>

namespace mgw::push {

namespace {

struct series_key {
    std::uint64_t index = 0;
    std::string labels;  // `a="1",b="2"`, sorted by name, escaped

    auto operator<=>(const series_key&) const = default;
};

struct series_value {
    double value = 0;
    std::optional<std::int64_t> integer_value;
    std::int64_t timestamp_ms = 0;
    push_store::clock::time_point last_push;
    std::uint64_t request = 0;  // the app_entry::requests count of the push that set it
};

struct family {
    pushed_type type = pushed_type::gauge;
    std::map<series_key, series_value> series;
};

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        c = text::ascii_lower(c);
    }
    return out;
}

// Apps are held under their GUID's canonical spelling: a scrape may name the app in any form.
std::string app_key(std::string_view app_guid) {
    return text::canonical_uuid(app_guid).value_or(lower(app_guid));
}

std::uint64_t index_number(std::string_view digits) {
    std::uint64_t n = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), n);
    return n;
}

std::string render_labels(const pushed_metric& metric) {
    std::string out;
    for (const auto& [name, value] : metric.tags) {
        if (!out.empty()) {
            out.push_back(',');
        }
        out += name;
        out += "=\"";
        exposition::append_escaped_label_value(out, value);
        out.push_back('"');
    }
    return out;
}

// The longest value text append_value writes: a double in its shortest round-trip form (24
// characters) or a 64-bit integer (20).
constexpr std::size_t max_value_chars = 32;

// Appends the value as the 0.0.4 text of a scrape spells it; returns the number that text
// reads back as (a whole gauge's -0 reads as 0).
double append_value(std::string& out, const series_value& v) {
    char buffer[64];
    std::to_chars_result result{};
    double read_back = v.value;
    if (v.integer_value) {
        result = std::to_chars(buffer, buffer + sizeof buffer, *v.integer_value);
        read_back = static_cast<double>(*v.integer_value);
    } else if (v.value == std::trunc(v.value) && std::fabs(v.value) < 1e15) {
        // Whole gauges as integers (15000000, not the shorter 1.5e+07): what people expect to
        // read, and still exact below 2^53.
        const auto whole = static_cast<std::int64_t>(v.value);
        result = std::to_chars(buffer, buffer + sizeof buffer, whole);
        read_back = static_cast<double>(whole);
    } else {
        result = std::to_chars(buffer, buffer + sizeof buffer, v.value);  // shortest round trip
    }
    out.append(buffer, result.ptr);
    return read_back;
}

// One instance's series while a scrape builds them: `text` is reserved for all of them first,
// so the views into it stay valid.
struct instance_build {
    std::size_t bytes = 0;
    std::size_t families = 0;
    std::size_t samples = 0;
    const void* last_family = nullptr;
    std::shared_ptr<std::string> text;
    exposition::parsed_exposition series;
};

// The labels of a rendered block with escapes, as the text parser stores them when it does not
// keep the block raw: names, and values still escaped between their quotes.
void add_labels(exposition::parsed_exposition& series, std::string_view block) {
    std::size_t at = 0;
    while (at < block.size()) {
        const std::size_t equals = block.find('=', at);
        const std::size_t value = equals + 2;  // past `="`
        std::size_t close = value;
        bool escapes = false;
        while (block[close] != '"') {
            if (block[close] == '\\') {
                escapes = true;
                ++close;
            }
            ++close;
        }
        series.labels.push_back({.name = block.substr(at, equals - at),
                                 .value = block.substr(value, close - value),
                                 .name_was_quoted = false,
                                 .value_has_escapes = escapes});
        at = close + 2;  // past `",`
    }
}

// Appends one series to its instance: `<name>{<labels>}<value>` in the text (the name directly
// followed by its block, as sample::raw_labels() expects), and the sample (and the family when
// it starts one) in the model, as the 0.0.4 parser reads `# TYPE <name> <type>` and
// `<name>{<labels>} <value>`: a block without escapes is kept raw, one with escapes as labels.
void append_series(instance_build& b, const void* family_id, std::string_view name,
                   pushed_type type, const std::string& labels, const series_value& value) {
    std::string& text = *b.text;
    exposition::parsed_exposition& series = b.series;
    const std::size_t name_at = text.size();
    text += name;
    exposition::sample s;
    s.name = std::string_view(text.data() + name_at, name.size());
    s.labels.first = static_cast<std::uint32_t>(series.labels.size());
    if (!labels.empty()) {
        text.push_back('{');
        const std::size_t block_at = text.size();
        text += labels;
        text.push_back('}');
        if (labels.find('\\') == std::string::npos) {
            s.raw_labels_size = static_cast<std::uint32_t>(labels.size());
        } else {
            add_labels(series, std::string_view(text.data() + block_at, labels.size()));
            s.labels.count = static_cast<std::uint32_t>(series.labels.size()) - s.labels.first;
        }
    }
    const std::size_t value_at = text.size();
    s.value = append_value(text, value);
    s.value_text = std::string_view(text.data() + value_at, text.size() - value_at);
    if (b.last_family != family_id) {
        b.last_family = family_id;
        series.families.push_back(
            {.name = s.name,
             .type = type == pushed_type::counter ? exposition::metric_type::counter
                                                  : exposition::metric_type::gauge,
             .has_type = true,
             .help = {},
             .help_present = false,
             .unit = {},
             .samples = {.first = static_cast<std::uint32_t>(series.samples.size()), .count = 0}});
    }
    series.samples.push_back(s);
    ++series.families.back().samples.count;
}

std::string_view strip_total(std::string_view name) {
    constexpr std::string_view suffix = "_total";
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
        name.remove_suffix(suffix.size());
    }
    return name;
}

std::string metric_path(std::size_t a, std::size_t i, std::size_t m) {
    return "applications[" + std::to_string(a) + "].instances[" + std::to_string(i) + "].metrics[" +
           std::to_string(m) + "]";
}

}  // namespace

struct push_store::app_entry {
    mutable std::mutex mutex;
    std::map<std::string, std::string> binding_labels;
    std::map<std::string, family, std::less<>> families;
    std::size_t series = 0;
    std::uint64_t requests = 0;  // pushes applied, in the order they took the mutex

    // The type of a family that `name` as a `type` would clash with. Same name, other type;
    // and since OpenMetrics writes counter `c` as family `c` with sample `c_total`, a counter
    // `c` (or `c_total`) clashes with the gauges `c` and `c_total`.
    std::optional<pushed_type> clash(
        const std::string& name, pushed_type type,
        const std::map<std::string, pushed_type, std::less<>>& pending) const {
        const auto type_of = [&](std::string_view n) -> std::optional<pushed_type> {
            if (auto it = families.find(n); it != families.end()) {
                return it->second.type;
            }
            if (auto it = pending.find(n); it != pending.end()) {
                return it->second;
            }
            return std::nullopt;
        };
        if (auto same = type_of(name); same && *same != type) {
            return same;
        }
        const pushed_type other =
            type == pushed_type::counter ? pushed_type::gauge : pushed_type::counter;
        std::vector<std::string> candidates;
        if (type == pushed_type::counter) {
            const std::string base(strip_total(name));
            candidates = {base, base + "_total"};
        } else {
            candidates = {name + "_total"};
            if (strip_total(name).size() != name.size()) {
                candidates.emplace_back(strip_total(name));
            }
        }
        for (const std::string& candidate : candidates) {
            if (candidate != name && type_of(candidate) == other) {
                return other;
            }
        }
        return std::nullopt;
    }
};

push_store::push_store(push_store_options options) : options_(options) {}

push_store::~push_store() = default;

std::optional<store_error> push_store::apply(const push_binding& binding,
                                             const push_request& request, clock::time_point now,
                                             std::int64_t wall_ms) {
    if (request.metric_count == 0) {
        return std::nullopt;  // nothing to hold: no app entry for it either
    }
    const std::string app_guid = app_key(binding.app_guid);
    std::shared_lock shared(apps_mutex_);
    auto it = apps_.find(app_guid);
    // A loop: between creating the entry and taking the shared lock again, a sweep may remove
    // it again (it has no series yet).
    while (it == apps_.end()) {
        shared.unlock();
        {
            const std::unique_lock exclusive(apps_mutex_);
            if (!apps_.contains(app_guid)) {
                apps_.emplace(app_guid, std::make_unique<app_entry>());
            }
        }
        shared.lock();
        it = apps_.find(app_guid);
    }
    app_entry& app = *it->second;
    const std::scoped_lock lock(app.mutex);

    // Validate everything first: a rejected push leaves the store as it was.
    std::map<std::string, pushed_type, std::less<>> pending;
    std::vector<series_key> keys;
    keys.reserve(request.metric_count);
    std::vector<const std::string*> names;  // the family of each key
    names.reserve(request.metric_count);
    // Indexes into `keys` of the series this request adds, ordered by family and key.
    const auto by_key = [&keys, &names](std::size_t a, std::size_t b) {
        return std::tie(*names[a], keys[a]) < std::tie(*names[b], keys[b]);
    };
    std::set<std::size_t, decltype(by_key)> added_keys(by_key);
    std::size_t new_series = 0;
    for (std::size_t a = 0; a < request.applications.size(); ++a) {
        const auto& instances = request.applications[a].instances;
        for (std::size_t i = 0; i < instances.size(); ++i) {
            const std::uint64_t index = index_number(instances[i].index);
            for (std::size_t m = 0; m < instances[i].metrics.size(); ++m) {
                const pushed_metric& metric = instances[i].metrics[m];
                if (auto taken = app.clash(metric.name, metric.type, pending)) {
                    return store_error{
                        store_rejection::type_conflict,
                        {metric_path(a, i, m) + ".type",
                         "\"" + metric.name + "\" is a " + std::string(to_string(metric.type)) +
                             " here but this app already pushes a " +
                             std::string(to_string(*taken)) + " under that name"}};
                }
                pending.emplace(metric.name, metric.type);
                keys.push_back(series_key{index, render_labels(metric)});
                names.push_back(&metric.name);
                const auto family_it = app.families.find(metric.name);
                const bool known = family_it != app.families.end() &&
                                   family_it->second.series.contains(keys.back());
                if (!known && added_keys.insert(keys.size() - 1).second) {
                    // Counted once even when the body repeats it (the last one wins).
                    ++new_series;
                    if (app.series + new_series > options_.max_series_per_app) {
                        return store_error{
                            store_rejection::series_limit,
                            {metric_path(a, i, m),
                             "a new series, but this app already holds " +
                                 std::to_string(app.series) + " pushed series (the most " +
                                 std::to_string(options_.max_series_per_app) +
                                 " one app may hold) and this request brings " +
                                 std::to_string(new_series) + " new ones"}};
                    }
                }
            }
        }
    }

    // A later push always replaces what an earlier one stored, whatever the timestamps say:
    // a 202 means the value is served, and a client whose clock stepped back (or that sent
    // a wrong timestamp once) must not freeze its series. Timestamps only order the values a
    // single body carries for one series.
    const std::uint64_t this_request = ++app.requests;
    std::size_t k = 0;
    for (const pushed_application& application : request.applications) {
        for (const pushed_instance& instance : application.instances) {
            for (const pushed_metric& metric : instance.metrics) {
                auto family_it = app.families.find(metric.name);
                if (family_it == app.families.end()) {
                    family_it = app.families.emplace(metric.name, family{metric.type, {}}).first;
                }
                const std::int64_t timestamp = metric.timestamp_ms.value_or(wall_ms);
                auto [series_it, added] =
                    family_it->second.series.try_emplace(std::move(keys[k++]));
                series_value& stored = series_it->second;
                if (added || stored.request != this_request || timestamp >= stored.timestamp_ms) {
                    stored.value = metric.value;
                    stored.integer_value = metric.integer_value;
                    stored.timestamp_ms = timestamp;
                    stored.request = this_request;
                }
                stored.last_push = now;
                if (added) {
                    ++app.series;
                    series_count_.fetch_add(1, std::memory_order_relaxed);
                }
            }
        }
    }
    if (app.binding_labels != binding.labels) {
        app.binding_labels = binding.labels;
    }
    return std::nullopt;
}

std::optional<pushed_app> push_store::collect(std::string_view app_guid,
                                              clock::time_point now) const {
    const std::shared_lock shared(apps_mutex_);
    const auto it = apps_.find(app_key(app_guid));
    if (it == apps_.end()) {
        return std::nullopt;
    }
    const app_entry& app = *it->second;
    const std::scoped_lock lock(app.mutex);

    // Two passes under the app's lock: the first sizes each instance's text, so that it is
    // allocated once and the second can point the model into it.
    std::map<std::uint64_t, instance_build> instances;
    for (const auto& [name, fam] : app.families) {
        for (const auto& [key, value] : fam.series) {
            if (now - value.last_push > options_.ttl) {
                continue;
            }
            instance_build& b = instances[key.index];
            if (b.last_family != &fam) {
                b.last_family = &fam;
                ++b.families;
            }
            ++b.samples;
            b.bytes += name.size() + key.labels.size() + 2 + max_value_chars;
        }
    }
    if (instances.empty()) {
        return std::nullopt;
    }
    for (auto& [index, b] : instances) {
        b.text = std::make_shared<std::string>();
        b.text->reserve(b.bytes);
        b.series.source_format = exposition::format::prometheus_text;
        b.series.families.reserve(b.families);
        b.series.samples.reserve(b.samples);
        b.last_family = nullptr;
    }
    for (const auto& [name, fam] : app.families) {
        // A family's series are ordered by instance index first: one lookup per instance.
        auto b = instances.end();
        for (const auto& [key, value] : fam.series) {
            if (now - value.last_push > options_.ttl) {
                continue;
            }
            if (b == instances.end() || b->first != key.index) {
                b = instances.find(key.index);
            }
            append_series(b->second, &fam, name, fam.type, key.labels, value);
        }
    }
    pushed_app out;
    out.binding_labels = app.binding_labels;
    out.instances.reserve(instances.size());
    for (auto& [index, b] : instances) {
        out.instances.push_back({.index = std::to_string(index),
                                 .text = std::move(b.text),
                                 .series = std::move(b.series)});
    }
    return out;
}

std::size_t push_store::sweep(clock::time_point now) {
    std::size_t expired = 0;
    bool emptied = false;
    {
        const std::shared_lock shared(apps_mutex_);
        for (auto& [guid, app] : apps_) {
            const std::scoped_lock lock(app->mutex);
            for (auto family_it = app->families.begin(); family_it != app->families.end();) {
                const std::size_t dropped = std::erase_if(
                    family_it->second.series,
                    [&](const auto& entry) { return now - entry.second.last_push > options_.ttl; });
                app->series -= dropped;
                expired += dropped;
                family_it = family_it->second.series.empty() ? app->families.erase(family_it)
                                                             : std::next(family_it);
            }
            emptied = emptied || app->families.empty();
        }
    }
    series_count_.fetch_sub(expired, std::memory_order_relaxed);
    if (emptied) {
        const std::unique_lock exclusive(apps_mutex_);
        std::erase_if(apps_, [](const auto& entry) {
            const std::scoped_lock lock(entry.second->mutex);
            return entry.second->families.empty();
        });
    }
    return expired;
}

std::vector<std::pair<std::string, std::map<std::string, std::string>>> push_store::live_apps(
    clock::time_point now) const {
    std::vector<std::pair<std::string, std::map<std::string, std::string>>> live;
    const std::shared_lock shared(apps_mutex_);
    for (const auto& [guid, app] : apps_) {
        const std::scoped_lock lock(app->mutex);
        const bool any_live =
            std::any_of(app->families.begin(), app->families.end(), [&](const auto& f) {
                return std::any_of(
                    f.second.series.begin(), f.second.series.end(),
                    [&](const auto& s) { return now - s.second.last_push <= options_.ttl; });
            });
        if (any_live) {
            live.emplace_back(guid, app->binding_labels);
        }
    }
    return live;
}

std::size_t push_store::app_count() const {
    const std::shared_lock shared(apps_mutex_);
    return apps_.size();
}

}  // namespace mgw::push
