// Test support for the writer and merger tests: builds parsed_exposition values by hand, the
// way the parser would, so the writer is tested independently of the parser.
#pragma once

#include <cstdlib>
#include <deque>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include <mgw/exposition/model.hpp>
#include <mgw/exposition/writer.hpp>

namespace mgw::exposition::test {

// Owns the text its views point into (a deque keeps the strings in place as it grows).
class exposition_builder {
  public:
    explicit exposition_builder(format source_format) { exp_.source_format = source_format; }

    exposition_builder& fam(std::string_view name, metric_type type, bool has_type = true) {
        family f;
        f.name = keep(name);
        f.type = type;
        f.has_type = has_type;
        f.samples.first = static_cast<std::uint32_t>(exp_.samples.size());
        exp_.families.push_back(f);
        return *this;
    }

    exposition_builder& help(std::string_view raw) {
        exp_.families.back().help = keep(raw);
        exp_.families.back().help_present = true;
        return *this;
    }

    exposition_builder& unit(std::string_view unit) {
        exp_.families.back().unit = keep(unit);
        return *this;
    }

    exposition_builder& smp(
        std::string_view name,
        std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
        std::string_view value, std::string_view timestamp = {}) {
        sample s;
        s.name = keep(name);
        s.labels = add_labels(labels);
        s.value_text = keep(value);
        s.value = to_double(value);
        s.timestamp_text = keep(timestamp);
        exp_.samples.push_back(s);
        ++exp_.families.back().samples.count;
        return *this;
    }

    exposition_builder& exemplar(
        std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
        std::string_view value, std::string_view timestamp = {}) {
        mgw::exposition::exemplar e;
        e.labels = add_labels(labels);
        e.value_text = keep(value);
        e.value = to_double(value);
        e.timestamp_text = keep(timestamp);
        exp_.samples.back().exemplar_index = static_cast<std::uint32_t>(exp_.exemplars.size());
        exp_.exemplars.push_back(e);
        return *this;
    }

    const parsed_exposition& get() const { return exp_; }

  private:
    std::string_view keep(std::string_view s) {
        if (s.empty()) {
            return {};
        }
        return text_.emplace_back(s);
    }

    static double to_double(std::string_view s) {
        const std::string copy(s);
        return std::strtod(copy.c_str(), nullptr);
    }

    index_range add_labels(
        std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
        index_range r{static_cast<std::uint32_t>(exp_.labels.size()), 0};
        for (const auto& [name, value] : labels) {
            label l;
            l.name = keep(name);
            // As the parser does: only a quoted name can be a non-legacy one.
            l.name_was_quoted = !is_legacy_label_name(name);
            l.value = keep(value);
            l.value_has_escapes = value.find('\\') != std::string_view::npos;
            exp_.labels.push_back(l);
            ++r.count;
        }
        return r;
    }

    parsed_exposition exp_;
    std::deque<std::string> text_;
};

inline label injected(std::string_view name, std::string_view value) {
    label l;
    l.name = name;
    l.value = value;
    l.value_has_escapes = value.find('\\') != std::string_view::npos;
    return l;
}

}  // namespace mgw::exposition::test
