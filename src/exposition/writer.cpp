// Exposition writer: format rules for re-emitting parsed samples as Prometheus text 0.0.4 or
// OpenMetrics 1.0 (names, escaping, numbers, timestamps, the OpenMetrics-only samples).
#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/writer.hpp>

#include "parser_number.hpp"
#include "quote_mask.hpp"
#include "same_bytes.hpp"
#include "sample_line.hpp"
#include "sample_writer.hpp"

namespace mgw::exposition {
namespace {

constexpr std::string_view exported_prefix = "exported_";

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Character classes of legacy names, one table lookup per byte on the per-sample path.
enum : unsigned char { metric_start = 1, metric_char = 2, label_start = 4, label_char = 8 };

constexpr std::array<unsigned char, 256> make_name_chars() {
    std::array<unsigned char, 256> t{};
    for (int c = 0; c < 256; ++c) {
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        const bool digit = c >= '0' && c <= '9';
        t[c] = static_cast<unsigned char>(
            (letter || c == ':' ? metric_start | metric_char : 0) | (digit ? metric_char : 0) |
            (letter ? label_start | label_char : 0) | (digit ? label_char : 0));
    }
    return t;
}

constexpr std::array<unsigned char, 256> name_chars = make_name_chars();

// Branch-free over the name: every byte is looked up and the classes ANDed, which runs at about
// a byte per cycle on the per-sample path.
bool all_have(std::string_view name, unsigned char char_class) {
    unsigned classes = char_class;
    for (char c : name) {
        classes &= name_chars[static_cast<unsigned char>(c)];
    }
    return classes != 0;
}

bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// `[+-]?(digits[.digits*]|.digits)([eE][+-]?digits)?`: the OpenMetrics number syntax, which is
// also valid Go ParseFloat input, so such text can be copied into either format. Asked for every
// sample written, so a pointer walk.
bool is_plain_decimal(std::string_view t) {
    const char* p = t.data();
    const char* const end = p + t.size();
    const auto digits = [&] {
        const char* const start = p;
        while (p != end && static_cast<unsigned char>(*p - '0') < 10) {
            ++p;
        }
        return p != start;
    };
    if (p != end && (*p == '+' || *p == '-')) {
        ++p;
    }
    bool mantissa = digits();
    if (p != end && *p == '.') {
        ++p;
        mantissa = digits() || mantissa;
    }
    if (!mantissa) {
        return false;
    }
    if (p != end && (*p == 'e' || *p == 'E')) {
        ++p;
        if (p != end && (*p == '+' || *p == '-')) {
            ++p;
        }
        if (!digits()) {
            return false;
        }
    }
    return p == end;
}

void append_double(std::string& out, double v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
}

void append_int(std::string& out, std::int64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
}

bool parse_double(std::string_view text, double& v) {
    std::string_view t = text;
    if (!t.empty() && t.front() == '+') {
        t.remove_prefix(1);
    }
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    return ec == std::errc{} && ptr == t.data() + t.size() && !t.empty();
}

// Integer milliseconds to float seconds by moving the decimal point, so no precision is lost.
bool millis_to_seconds(std::string& out, std::string_view t) {
    bool negative = false;
    std::string_view digits = t;
    if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
        negative = digits.front() == '-';
        digits.remove_prefix(1);
    }
    if (digits.empty()) {
        return false;
    }
    for (char c : digits) {
        if (!is_digit(c)) {
            double ms = 0;
            if (!parse_double(t, ms)) {
                return false;
            }
            append_double(out, ms / 1000.0);
            return true;
        }
    }
    while (digits.size() > 1 && digits.front() == '0') {
        digits.remove_prefix(1);
    }
    if (digits == "0") {
        out += '0';
        return true;
    }
    if (negative) {
        out += '-';
    }
    std::string_view int_part = digits.size() > 3 ? digits.substr(0, digits.size() - 3) : "0";
    std::string_view frac_src = digits.size() > 3 ? digits.substr(digits.size() - 3) : digits;
    char frac[3] = {'0', '0', '0'};
    for (std::size_t i = 0; i < frac_src.size(); ++i) {
        frac[3 - frac_src.size() + i] = frac_src[i];
    }
    std::size_t frac_len = 3;
    while (frac_len > 0 && frac[frac_len - 1] == '0') {
        --frac_len;
    }
    out += int_part;
    if (frac_len > 0) {
        out += '.';
        out.append(frac, frac_len);
    }
    return true;
}

// Float seconds to integer milliseconds; plain decimals are converted textually (exact),
// anything with an exponent through a double.
bool seconds_to_millis(std::string& out, std::string_view t) {
    if (!is_plain_decimal(t)) {
        return false;
    }
    bool negative = false;
    std::string_view rest = t;
    if (rest.front() == '+' || rest.front() == '-') {
        negative = rest.front() == '-';
        rest.remove_prefix(1);
    }
    if (rest.find_first_of("eE") != std::string_view::npos) {
        double s = 0;
        if (!parse_double(t, s) || !std::isfinite(s) || std::fabs(s) >= 9.2e15) {
            return false;
        }
        append_int(out, static_cast<std::int64_t>(std::trunc(s * 1000.0)));
        return true;
    }
    std::size_t dot = rest.find('.');
    std::string_view int_part = rest.substr(0, dot);
    std::string_view frac_part = dot == std::string_view::npos ? "" : rest.substr(dot + 1);
    char digits_buf[3] = {'0', '0', '0'};
    for (std::size_t i = 0; i < frac_part.size() && i < 3; ++i) {
        digits_buf[i] = frac_part[i];
    }
    while (!int_part.empty() && int_part.front() == '0') {
        int_part.remove_prefix(1);
    }
    std::size_t skip = 0;
    if (int_part.empty()) {
        while (skip < 3 && digits_buf[skip] == '0') {
            ++skip;
        }
        if (skip == 3) {
            out += '0';
            return true;
        }
    }
    // 0.0.4 timestamps are int64 milliseconds; a larger one has no 0.0.4 spelling.
    constexpr std::string_view int64_max = "9223372036854775807";
    const std::size_t digits = int_part.size() + 3 - skip;
    if (digits > int64_max.size() ||
        (digits == int64_max.size() &&
         (std::string(int_part) + std::string(digits_buf + skip, 3 - skip)) > int64_max)) {
        return false;
    }
    if (negative) {
        out += '-';
    }
    out += int_part;
    out.append(digits_buf + skip, 3 - skip);
    return true;
}

void append_name_chars_escaped(std::string& out, std::string_view name, bool metric_name) {
    // The `underscores` scheme: every code point that is not legal in a legacy name is `_`.
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80 && (u & 0xC0) == 0x80) {
            continue;  // UTF-8 continuation byte: its code point already produced one `_`
        }
        const bool ok =
            is_letter(c) || c == '_' || (metric_name && c == ':') || (i > 0 && is_digit(c));
        out += ok ? c : '_';
    }
}

// A name, optionally behind `prefix_count` copies of `exported_` and followed by `suffix`,
// quoted when it is not a legacy name and UTF-8 names are allowed.
void append_name(std::string& out, std::string_view name, std::string_view suffix, bool metric_name,
                 std::size_t prefix_count, const writer_options& opts) {
    const bool legal = metric_name ? is_legacy_metric_name(name) : is_legacy_label_name(name);
    if (legal) {
        for (std::size_t i = 0; i < prefix_count; ++i) {
            out += exported_prefix;
        }
        out += name;
        out += suffix;
        return;
    }
    if (opts.utf8_names) {
        out += '"';
        for (std::size_t i = 0; i < prefix_count; ++i) {
            out += exported_prefix;
        }
        out += name;
        out += suffix;
        out += '"';
        return;
    }
    for (std::size_t i = 0; i < prefix_count; ++i) {
        out += exported_prefix;
    }
    append_name_chars_escaped(out, name, metric_name);
    out += suffix;
}

// The parser only leaves a label name unquoted when it is a legacy name, so only quoted ones
// need checking.
void append_label_name(std::string& out, const label& l, std::size_t prefix_count,
                       const writer_options& opts) {
    if (l.name_was_quoted) {
        append_name(out, l.name, {}, false, prefix_count, opts);
        return;
    }
    for (std::size_t i = 0; i < prefix_count; ++i) {
        out += exported_prefix;
    }
    out += l.name;
}

// Whether `candidate` equals `prefix_count` copies of `exported_` followed by `name`.
bool equals_prefixed(std::string_view candidate, std::size_t prefix_count, std::string_view name) {
    if (candidate.size() != prefix_count * exported_prefix.size() + name.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix_count; ++i) {
        if (candidate.substr(i * exported_prefix.size(), exported_prefix.size()) !=
            exported_prefix) {
            return false;
        }
    }
    return candidate.substr(prefix_count * exported_prefix.size()) == name;
}

bool injected_has(std::span<const label> injected, std::string_view name) {
    for (const label& l : injected) {
        if (l.name.size() == name.size() && l.name[0] == name[0] && l.name == name) {
            return true;
        }
    }
    return false;
}

// A label's name as the output writes it, prefixes aside: a quoted name is escaped for a
// legacy client (`"app.id"` is `app_id` there, and collides with an injected `app_id`).
std::string_view written_label_name(const label& l, const writer_options& opts,
                                    std::string& buffer) {
    if (!l.name_was_quoted || opts.utf8_names) {
        return l.name;
    }
    buffer.clear();
    append_name_chars_escaped(buffer, l.name, false);
    return buffer;
}

// Prometheus' honor_labels=false rule: prefix `exported_` until the name is taken by neither
// the sample's own labels nor the injected ones.
std::size_t exported_prefix_count(std::span<const label> own, std::span<const label> injected,
                                  std::string_view name, const writer_options& opts) {
    thread_local std::string buffer;
    for (std::size_t k = 1;; ++k) {
        bool taken = false;
        for (const label& l : own) {
            if (equals_prefixed(written_label_name(l, opts, buffer), k, name)) {
                taken = true;
                break;
            }
        }
        for (std::size_t i = 0; !taken && i < injected.size(); ++i) {
            taken = equals_prefixed(injected[i].name, k, name);
        }
        if (!taken) {
            return k;
        }
    }
}

void append_labels_of(std::string& out, std::span<const label> labels, bool& first,
                      const writer_options& opts) {
    for (const label& l : labels) {
        if (!first) {
            out += ',';
        }
        first = false;
        append_label_name(out, l, 0, opts);
        out += "=\"";
        if (l.value_has_escapes) {
            append_label_value(out, l.value);
        } else {
            out += l.value;
        }
        out += '"';
    }
}

// A sample's own labels followed by the injected ones, own labels colliding with an injected
// name renamed `exported_<name>` or dropped.
void append_own_and_injected(std::string& out, std::span<const label> own,
                             const prepared_labels& injected, bool drop_colliding, bool& first,
                             const writer_options& opts) {
    thread_local std::string written;
    for (const label& l : own) {
        std::size_t prefix_count = 0;
        const std::string_view name = written_label_name(l, opts, written);
        if (((injected.name_length_bits >> label_name_bit(name)) & 1) != 0 &&
            injected_has(injected.labels, name)) {
            if (drop_colliding) {
                continue;
            }
            const std::string colliding(name);  // `written` is reused while counting
            prefix_count = exported_prefix_count(own, injected.labels, colliding, opts);
        }
        if (!first) {
            out += ',';
        }
        first = false;
        append_label_name(out, l, prefix_count, opts);
        out += "=\"";
        if (l.value_has_escapes) {
            append_label_value(out, l.value);
        } else {
            out += l.value;
        }
        out += '"';
    }
    if (!first) {
        out += ',';
    }
    out += injected.rendered;
}

bool injected_name(std::string_view name, const prepared_labels& injected) {
    return ((injected.name_length_bits >> label_name_bit(name)) & 1) != 0 &&
           injected_has(injected.labels, name);
}

// Whether a label name of a canonical raw block is also an injected name. Asked for every
// sample of the merged answer: a canonical block has no quote but those around its values
// (`a="x",b="y"`), so each name ends two bytes before an odd quote and the next starts two
// bytes after an even one, and the quotes are found 16 bytes at a time where SSE2 is available.
bool raw_block_collides(std::string_view block, const prepared_labels& injected) {
    const char* const base = block.data();
    const std::size_t size = block.size();
#if defined(__SSE2__)
    if (size >= 16 && size <= 64) {
        // Most blocks: a bit per byte for the quotes, in one word. The quotes up to and including
        // an opening one are odd in number (a prefix XOR); a name starts at the block's start or
        // two bytes after a closing quote, and ends two bytes before the next opening one.
        const std::uint64_t quotes = detail::quote_mask(block);
        std::uint64_t odd = quotes;
        for (const unsigned shift : {1U, 2U, 4U, 8U, 16U, 32U}) {
            odd ^= odd << shift;
        }
        std::uint64_t opening = quotes & odd;
        // The last closing quote ends the block: no name after it.
        std::uint64_t starts = 1 | ((quotes & ~odd & ~(std::uint64_t(1) << (size - 1))) << 2);
        while (opening != 0) {
            const auto start = static_cast<std::size_t>(std::countr_zero(starts));
            const auto end = static_cast<std::size_t>(std::countr_zero(opening)) - 1;
            starts &= starts - 1;
            opening &= opening - 1;
            if (injected_name({base + start, end - start}, injected)) {
                return true;
            }
        }
        return false;
    }
#endif
    std::size_t name_start = 0;
    bool opening = true;
    const auto quotes = [&](std::size_t from, unsigned mask) {
        while (mask != 0) {
            const std::size_t at = from + static_cast<std::size_t>(std::countr_zero(mask));
            mask &= mask - 1;
            if (opening && injected_name({base + name_start, at - 1 - name_start}, injected)) {
                return true;
            }
            name_start = at + 2;
            opening = !opening;
        }
        return false;
    };
    std::size_t chunk = 0;
#if defined(__SSE2__)
    if (size >= 16) {
        const __m128i quote = _mm_set1_epi8('"');
        for (; chunk + 16 <= size; chunk += 16) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + chunk));
            if (quotes(chunk, static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote))))) {
                return true;
            }
        }
        if (chunk == size) {
            return false;
        }
        // The tail: the block's last 16 bytes, without those already seen.
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + size - 16));
        const auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)));
        return quotes(chunk, mask >> (chunk + 16 - size));
    }
#endif
    for (; chunk < size; chunk += 32) {
        const std::size_t end = std::min(size, chunk + 32);
        unsigned mask = 0;
        for (std::size_t i = chunk; i < end; ++i) {
            mask |= static_cast<unsigned>(base[i] == '"') << (i - chunk);
        }
        if (quotes(chunk, mask)) {
            return true;
        }
    }
    return false;
}

std::span<const label> labels_in(const parsed_exposition& src, index_range r) {
    return std::span<const label>(src.labels).subspan(r.first, r.count);
}

// The name a family's header carries in `output`.
struct header_name {
    std::string_view base;
    std::string_view suffix;
};

header_name family_header_name(const family& f, format input, format output) {
    if (output == format::prometheus_text && input == format::openmetrics) {
        if (f.type == metric_type::counter) {
            return {f.name, "_total"};
        }
        if (f.type == metric_type::info) {
            return {f.name, "_info"};
        }
        return {f.name, {}};
    }
    if (output == format::openmetrics) {
        return {canonical_family_name(f, input), {}};
    }
    return {f.name, {}};
}

void append_header_lines(std::string& out, header_name name, std::string_view type, const family& f,
                         format input, const writer_options& opts) {
    if (f.help_present) {
        out += "# HELP ";
        append_name(out, name.base, name.suffix, true, 0, opts);
        out += ' ';
        append_help_text(out, f.help, input, opts.output);
        out += '\n';
    }
    out += "# TYPE ";
    append_name(out, name.base, name.suffix, true, 0, opts);
    out += ' ';
    out += type;
    out += '\n';
}

// What append_value writes for a value, when that is NaN, an infinity or the input text (nearly
// always); empty when it must be converted.
std::string_view value_spelling(std::string_view text, double value) {
    if (std::isnan(value)) {
        return "NaN";
    }
    if (std::isinf(value)) {
        return value > 0 ? "+Inf" : "-Inf";
    }
    return is_plain_decimal(text) ? text : std::string_view();
}

// An empty view may have no storage (the absent name suffix is std::string_view()): memcpy from
// a null source is undefined even for 0 bytes, so empty copies are skipped.
char* copy_bytes(char* to, std::string_view bytes) {
    if (bytes.empty()) {
        return to;
    }
    std::memcpy(to, bytes.data(), bytes.size());
    return to + bytes.size();
}

// is_legacy_metric_name(name) for a sample of `f`: a sample's name nearly always starts with
// its family's, so when that one is known to be legacy only the suffix is scanned.
bool sample_name_is_legacy(std::string_view name, const family& f, bool family_name_legacy) {
    if (family_name_legacy && name.size() >= f.name.size() &&
        detail::same_bytes(name.substr(0, f.name.size()), f.name)) {
        return all_have(name.substr(f.name.size()), metric_char);
    }
    return is_legacy_metric_name(name);
}

}  // namespace

std::string_view om_extra_suffix(om_extra extra) {
    switch (extra) {
        case om_extra::created:
            return "_created";
        case om_extra::gcount:
            return "_gcount";
        case om_extra::gsum:
            return "_gsum";
        case om_extra::none:
            break;
    }
    return {};
}

om_extra classify_om_extra(const family& f, const sample& s, format input) {
    if (input != format::openmetrics || s.name.size() <= f.name.size() ||
        s.name.substr(0, f.name.size()) != f.name) {
        return om_extra::none;
    }
    const std::string_view suffix = s.name.substr(f.name.size());
    switch (f.type) {
        case metric_type::counter:
        case metric_type::histogram:
        case metric_type::summary:
            return suffix == "_created" ? om_extra::created : om_extra::none;
        case metric_type::gaugehistogram:
            if (suffix == "_gsum") {
                return om_extra::gsum;
            }
            return suffix == "_gcount" ? om_extra::gcount : om_extra::none;
        default:
            return om_extra::none;
    }
}

std::string_view canonical_family_name(const family& f, format input) {
    if (input == format::prometheus_text && f.type == metric_type::counter && f.name.size() > 6 &&
        ends_with(f.name, "_total")) {
        return f.name.substr(0, f.name.size() - 6);
    }
    return f.name;
}

std::string_view type_keyword(metric_type type, format output) {
    const bool om = output == format::openmetrics;
    switch (type) {
        case metric_type::counter:
            return "counter";
        case metric_type::gauge:
            return "gauge";
        case metric_type::histogram:
            return "histogram";
        case metric_type::gaugehistogram:
            return om ? "gaugehistogram" : "histogram";
        case metric_type::summary:
            return "summary";
        case metric_type::info:
            return om ? "info" : "gauge";
        case metric_type::stateset:
            return om ? "stateset" : "gauge";
        case metric_type::unknown:
            break;
    }
    return om ? "unknown" : "untyped";
}

void append_family_header(std::string& out, const family& f, format input,
                          const writer_options& opts) {
    const header_name name = family_header_name(f, input, opts.output);
    append_header_lines(out, name, type_keyword(f.type, opts.output), f, input, opts);
    if (opts.output == format::openmetrics && !f.unit.empty()) {
        out += "# UNIT ";
        append_name(out, name.base, {}, true, 0, opts);
        out += ' ';
        out += f.unit;
        out += '\n';
    }
}

void append_om_extra_header(std::string& out, const family& f, format input, om_extra extra,
                            const writer_options& opts) {
    append_header_lines(out, {f.name, om_extra_suffix(extra)}, "gauge", f, input, opts);
}

void render_labels(std::string& out, std::span<const label> labels, const writer_options& opts) {
    bool first = true;
    append_labels_of(out, labels, first, opts);
}

std::uint64_t name_length_bits(std::span<const label> labels) {
    std::uint64_t bits = 0;
    for (const label& l : labels) {
        bits |= std::uint64_t(1) << label_name_bit(l.name);
    }
    return bits;
}

void append_sample(std::string& out, const parsed_exposition& src, const family& f, const sample& s,
                   std::span<const label> injected, bool drop_colliding,
                   const writer_options& opts) {
    prepared_labels prepared{injected, {}, name_length_bits(injected)};
    std::string rendered;
    if (!injected.empty()) {
        render_labels(rendered, injected, opts);
        prepared.rendered = rendered;
    }
    append_sample(out, src, f, s, prepared, drop_colliding, opts);
}

void append_sample(std::string& out, const parsed_exposition& src, const family& f, const sample& s,
                   const prepared_labels& injected, bool drop_colliding,
                   const writer_options& opts) {
    detail::append_sample(out, src, f, s, injected, drop_colliding, opts, false);
}

namespace detail {

void append_sample(std::string& out, const parsed_exposition& src, const family& f, const sample& s,
                   const prepared_labels& injected, bool drop_colliding, const writer_options& opts,
                   bool family_name_legacy) {
    const format input = src.source_format;
    const bool om = opts.output == format::openmetrics;
    // expfmt's OpenMetrics encoder: a 0.0.4 counter sample always ends in `_total`, after
    // the family name canonical_family_name gives it (so `_total` alone becomes `_total_total`).
    const std::string_view name_suffix = om && input == format::prometheus_text &&
                                                 f.type == metric_type::counter &&
                                                 !(s.name.size() > 6 && ends_with(s.name, "_total"))
                                             ? std::string_view("_total")
                                             : std::string_view();
    const std::span<const label> own = labels_in(src, s.labels);
    const bool raw = s.has_raw_labels();
    const bool has_own = raw || !own.empty();
    const bool has_injected = !injected.rendered.empty();
    // The name is scanned once: legacy names (nearly all) are copied as they are. A raw block
    // follows an unquoted 0.0.4 name (model.hpp), which the grammar makes a legacy name.
    const bool legacy_name = raw || sample_name_is_legacy(s.name, f, family_name_legacy);
    if (raw && !s.has_exemplar() && (s.timestamp_text.empty() || input == opts.output)) {
        // The merged answer's common line: a canonical block (so a Prometheus text input,
        // without exemplars), copied with the injected labels into its exact size at once.
        // The text parser read its value with parse_number, whose grammar is is_plain_decimal's
        // but for the spellings of NaN and the infinities: a finite value is copied as written.
        const std::string_view value = std::isnan(s.value) ? std::string_view("NaN")
                                       : std::isinf(s.value)
                                           ? std::string_view(s.value > 0 ? "+Inf" : "-Inf")
                                           : s.value_text;
        if (!value.empty() && (!has_injected || !raw_block_collides(s.raw_labels(), injected))) {
            const std::string_view block = s.raw_labels();
            const std::string_view ts = s.timestamp_text;
            const std::size_t size = s.name.size() + name_suffix.size() + 1 + block.size() +
                                     (has_injected ? 1 + injected.rendered.size() : 0) + 2 +
                                     value.size() + (ts.empty() ? 0 : 1 + ts.size()) + 1;
            const std::size_t at = out.size();
            out.resize(at + size);
            char* p = out.data() + at;
            p = copy_bytes(p, s.name);
            p = copy_bytes(p, name_suffix);
            *p++ = '{';
            p = copy_bytes(p, block);
            if (has_injected) {
                *p++ = ',';
                p = copy_bytes(p, injected.rendered);
            }
            *p++ = '}';
            *p++ = ' ';
            p = copy_bytes(p, value);
            if (!ts.empty()) {
                *p++ = ' ';
                p = copy_bytes(p, ts);
            }
            *p = '\n';
            return;
        }
    }
    const bool quoted_name = !legacy_name && opts.utf8_names;
    bool first = true;
    if (quoted_name) {
        out += "{\"";
        out += s.name;
        out += name_suffix;
        out += '"';
        first = false;
    } else {
        if (legacy_name) {
            out += s.name;
            out += name_suffix;
        } else {
            append_name_chars_escaped(out, s.name, true);
            out += name_suffix;
        }
        if (has_own || has_injected) {
            out += '{';
        }
    }
    if (raw && (!has_injected || !raw_block_collides(s.raw_labels(), injected))) {
        // A canonical block is written exactly as append_labels_of would write its labels.
        if (!first) {
            out += ',';
        }
        out += s.raw_labels();
        if (has_injected) {
            out += ',';
            out += injected.rendered;
        }
    } else if (!has_injected) {
        append_labels_of(out, own, first, opts);
    } else if (raw) {
        // Rare: an own label collides, so the block is split into labels and renamed or
        // dropped like materialised ones. The scratch keeps its capacity per thread.
        thread_local std::vector<label> scratch;
        scratch.clear();
        for_each_raw_label(s.raw_labels(), [](const label& l) { scratch.push_back(l); });
        append_own_and_injected(out, scratch, injected, drop_colliding, first, opts);
    } else {
        append_own_and_injected(out, own, injected, drop_colliding, first, opts);
    }
    if (quoted_name || has_own || has_injected) {
        out += '}';
    }
    out += ' ';
    append_value(out, s.value_text, s.value);
    if (!s.timestamp_text.empty()) {
        const std::size_t mark = out.size();
        out += ' ';
        if (!append_timestamp(out, s.timestamp_text, input, opts.output)) {
            out.resize(mark);
        }
    }
    if (om && s.has_exemplar() && input == format::openmetrics) {
        const exemplar& e = src.exemplar_of(s);
        out += " # {";
        bool first_exemplar_label = true;
        append_labels_of(out, labels_in(src, e.labels), first_exemplar_label, opts);
        out += "} ";
        append_value(out, e.value_text, e.value);
        if (!e.timestamp_text.empty()) {
            out += ' ';
            out += e.timestamp_text;
        }
    }
    out += '\n';
}

namespace {

// Whether append_sample writes a value as its text reads: a finite value is copied as written,
// and NaN and the infinities are spelled so. A decimal without an exponent and at most 308
// characters long is finite (DBL_MAX has 309 digits); with an exponent it may not be.
bool value_written_as_read(std::string_view text) {
    if (text == "NaN" || text == "+Inf" || text == "-Inf") {
        return true;
    }
    if (text.size() > 308) {
        return false;
    }
    bool digit = false;
    for (const char c : text) {
        if (c == 'e' || c == 'E') {
            return false;
        }
        digit = digit || static_cast<unsigned char>(c - '0') < 10;
    }
    return digit;
}

}  // namespace

void append_sample_line(std::string& out, const parsed_exposition& src, const family& f, sample& s,
                        const prepared_labels& injected, bool drop_colliding,
                        const writer_options& opts, bool family_name_legacy, bool may_collide) {
    const bool has_injected = !injected.rendered.empty();
    if (opts.output == format::prometheus_text && src.source_format == format::prometheus_text &&
        s.has_raw_labels() && value_written_as_read(s.value_text) &&
        (!has_injected || !may_collide || !raw_block_collides(s.raw_labels(), injected))) {
        // append_sample's common line, which is the input line with the injected labels.
        const char* const start = s.name.data();
        const char* const close = s.raw_labels().data() + s.raw_labels().size();
        const char* const line_end = s.timestamp_text.empty()
                                         ? s.value_text.data() + s.value_text.size()
                                         : s.timestamp_text.data() + s.timestamp_text.size();
        const auto before = static_cast<std::size_t>(close - start);
        const auto after = static_cast<std::size_t>(line_end - close);
        const std::size_t at = out.size();
        out.resize(at + before + (has_injected ? 1 + injected.rendered.size() : 0) + after + 1);
        char* p = out.data() + at;
        std::memcpy(p, start, before);
        p += before;
        if (has_injected) {
            *p++ = ',';
            p = copy_bytes(p, injected.rendered);
        }
        std::memcpy(p, close, after);
        p[after] = '\n';
        return;
    }
    parse_number(s.value_text, s.value);
    append_sample(out, src, f, s, injected, drop_colliding, opts, family_name_legacy);
}

}  // namespace detail

void append_trailer(std::string& out, const writer_options& opts) {
    if (opts.output == format::openmetrics) {
        out += "# EOF\n";
    }
}

void write_exposition(std::string& out, const parsed_exposition& src, const writer_options& opts) {
    merger m;
    m.add_source(src);
    m.write_all(out, opts);
}

void append_value(std::string& out, std::string_view text, double value) {
    const std::string_view spelling = value_spelling(text, value);
    if (!spelling.empty()) {
        out += spelling;
    } else {
        append_double(out, value);
    }
}

bool append_timestamp(std::string& out, std::string_view text, format input, format output) {
    if (input == output) {
        out += text;
        return true;
    }
    if (input == format::prometheus_text) {
        return millis_to_seconds(out, text);
    }
    return seconds_to_millis(out, text);
}

void append_help_text(std::string& out, std::string_view raw, format input, format output) {
    if (input == output) {
        out += raw;
        return;
    }
    const bool escape_quote = output == format::openmetrics;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '\\' && i + 1 < raw.size()) {
            const char next = raw[i + 1];
            if (next == '\\' || next == 'n' || (next == '"' && input == format::openmetrics)) {
                c = next == 'n' ? '\n' : next;
                ++i;
            }
        }
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '"':
                out += escape_quote ? "\\\"" : "\"";
                break;
            default:
                out += c;
        }
    }
}

void append_escaped_label_value(std::string& out, std::string_view raw) {
    for (const char c : raw) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out.push_back(c);
        }
    }
}

void append_label_value(std::string& out, std::string_view raw) {
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c != '\\') {
            out += c;
            continue;
        }
        const char next = i + 1 < raw.size() ? raw[i + 1] : '\0';
        if (next == '\\' || next == '"' || next == 'n') {
            out += c;
            out += next;
            ++i;
        } else {
            out += "\\\\";
        }
    }
}

bool is_legacy_metric_name(std::string_view name) {
    return !name.empty() && (name_chars[static_cast<unsigned char>(name[0])] & metric_start) &&
           all_have(name, metric_char);
}

bool is_legacy_label_name(std::string_view name) {
    if (name.empty() || !(name_chars[static_cast<unsigned char>(name[0])] & label_start)) {
        return false;
    }
    return all_have(name, label_char);
}

void append_escaped_name(std::string& out, std::string_view name, bool metric_name,
                         bool utf8_names) {
    writer_options opts;
    opts.utf8_names = utf8_names;
    append_name(out, name, {}, metric_name, 0, opts);
}

}  // namespace mgw::exposition
