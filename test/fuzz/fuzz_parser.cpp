// libFuzzer target for the exposition parser: every input is parsed as Prometheus text and as
// OpenMetrics, and the result must satisfy the model's invariants (ranges in bounds, families
// tiling the samples, views inside the input) or be a positioned error. A valid 0.0.4 body is
// also parsed with raw label blocks and must write the same bytes as with materialised labels.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mgw/exposition/check.hpp"
#include "mgw/exposition/merger.hpp"
#include "mgw/exposition/parser.hpp"
#include "mgw/exposition/writer.hpp"

namespace {

void require(bool condition) {
    if (!condition)
        std::abort();
}

bool inside(std::string_view view, std::string_view input) {
    if (view.empty())
        return true;
    return view.data() >= input.data() && view.data() + view.size() <= input.data() + input.size();
}

bool range_ok(mgw::exposition::index_range range, std::size_t size) {
    return static_cast<std::size_t>(range.first) + range.count <= size;
}

bool check_result(std::string_view input, mgw::exposition::format fmt,
                  mgw::exposition::parsed_exposition& out) {
    using namespace mgw::exposition;
    parse_limits limits;
    limits.max_line_bytes = 1 << 16;
    limits.max_samples = 10'000;
    const parse_result read = parse(input, fmt, out, limits);
    if (!read) {
        const parse_error& error = read.error();
        require(error.line >= 1 && error.column >= 1 && !error.reason.empty());
        require(!error.message().empty());
        // Every refusal has a kind of fault of the module's category.
        require(&error.code.category() == &error_category() &&
                error.code.value() >= static_cast<int>(errc::invalid_utf8) &&
                error.code.value() <= static_cast<int>(errc::missing_eof));
        return false;
    }
    require(out.source_format == fmt);
    require(out.samples.size() <= limits.max_samples);
    std::size_t next = 0;
    for (const family& f : out.families) {
        require(!f.name.empty() && inside(f.name, input));
        require(inside(f.help, input) && inside(f.unit, input));
        require(f.samples.first == next);
        require(range_ok(f.samples, out.samples.size()));
        next += f.samples.count;
    }
    require(next == out.samples.size());
    for (const sample& s : out.samples) {
        require(!s.name.empty() && inside(s.name, input));
        require(!s.value_text.empty() && inside(s.value_text, input));
        require(inside(s.timestamp_text, input));
        require(range_ok(s.labels, out.labels.size()));
        require(s.labels.count <= limits.max_labels_per_sample);
        if (s.has_exemplar()) {
            require(fmt == format::openmetrics);
            require(s.exemplar_index < out.exemplars.size());
            const exemplar& e = out.exemplar_of(s);
            require(range_ok(e.labels, out.labels.size()));
            require(e.labels.first >= s.labels.first + s.labels.count);
            require(!e.value_text.empty());
            require(inside(e.value_text, input));
        }
    }
    for (const label& l : out.labels) {
        require(!l.name.empty() && inside(l.name, input) && inside(l.value, input));
        require(l.value.size() <= limits.max_label_value_bytes);
        require(l.value_has_escapes == (l.value.find('\\') != std::string_view::npos));
    }
    // A second parse into the same (now warm) object gives the same shape.
    const std::size_t families = out.families.size();
    const std::size_t samples = out.samples.size();
    require(parse(input, fmt, out, limits).has_value());
    require(out.families.size() == families && out.samples.size() == samples);
    return true;
}

// A 0.0.4 body parsed with raw label blocks must write exactly what the materialised parse
// writes, alone and merged with injected labels that collide with common names.
void check_raw_labels_write_the_same(std::string_view input,
                                     const mgw::exposition::parsed_exposition& full) {
    using namespace mgw::exposition;
    static parsed_exposition raw;
    parse_limits limits;
    limits.max_line_bytes = 1 << 16;
    limits.max_samples = 10'000;
    require(parse(input, format::prometheus_text, raw, limits, label_storage::raw_when_canonical)
                .has_value());
    require(raw.samples.size() == full.samples.size());
    label injected[3];
    injected[0].name = "a";
    injected[0].value = "x";
    injected[1].name = "exported_a";
    injected[1].value = "y";
    injected[2].name = "le";
    injected[2].value = "z";
    for (const format output : {format::prometheus_text, format::openmetrics}) {
        const writer_options opts{output, (input.size() & 1) != 0};
        std::string a;
        std::string b;
        write_exposition(a, full, opts);
        write_exposition(b, raw, opts);
        require(a == b);
        for (const collision_policy policy :
             {collision_policy::rename_exported, collision_policy::overwrite}) {
            merger ma({policy});
            merger mb({policy});
            ma.add_source(full, injected);
            mb.add_source(raw, injected);
            require(ma.write_all(opts) == mb.write_all(opts));
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A private copy, exactly `size` bytes long, so reads past the end are caught by ASan.
    const std::string buffer(reinterpret_cast<const char*>(data), size);
    const std::string_view input(buffer);
    static mgw::exposition::parsed_exposition reused;
    if (check_result(input, mgw::exposition::format::prometheus_text, reused)) {
        check_raw_labels_write_the_same(input, reused);
    }
    check_result(input, mgw::exposition::format::openmetrics, reused);
    std::string diagnostic;
    const int verdict = mgw::exposition::check_exposition(input, std::nullopt, diagnostic);
    require((verdict == 0) == diagnostic.empty());
    return 0;
}
