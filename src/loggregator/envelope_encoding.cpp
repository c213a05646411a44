// Protobuf wire format of loggregator.v2.Envelope (proto/loggregator-api/v2/envelope.proto),
// sizes computed first so that each nested message's length is written before it without a
// second buffer, and so that each entry's room is made at once and filled through a cursor. Field
// numbers: Envelope timestamp 1, source_id 2, counter 5, gauge 6, instance_id 8, tags 9, event 10;
// Counter name 1, delta 2, total 3; Gauge metrics 1; GaugeValue unit 1, value 2; Event title 1,
// body 2; map entries key 1, value 2.
#include "envelope_encoding.hpp"

#include <bit>
#include <cassert>
#include <cstring>
#include <limits>

namespace mgw::loggregator {

namespace {

enum wire_type : std::uint8_t { wire_varint = 0, wire_fixed64 = 1, wire_length_delimited = 2 };

constexpr char key(std::uint32_t field, wire_type type) {
    return static_cast<char>((field << 3) | type);
}

std::size_t varint_size(std::uint64_t v) {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

// A length-delimited field of `length` bytes: key, length, the bytes.
std::size_t field_size(std::size_t length) {
    return 1 + varint_size(length) + length;
}

std::size_t optional_string_size(std::string_view s) {
    return s.empty() ? 0 : field_size(s.size());
}

std::size_t optional_varint_size(std::uint64_t v) {
    return v == 0 ? 0 : 1 + varint_size(v);
}

// Writes into room made beforehand: each entry's size is computed first, the string grown once,
// and the bytes stored through a cursor (no capacity check per byte).
class cursor {
  public:
    explicit cursor(char* at) : at_(at) {}

    char* position() const { return at_; }

    void byte(char c) { *at_++ = c; }

    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            *at_++ = static_cast<char>((v & 0x7f) | 0x80);
            v >>= 7;
        }
        *at_++ = static_cast<char>(v);
    }

    void header(std::uint32_t field, std::size_t length) {
        byte(key(field, wire_length_delimited));
        varint(length);
    }

    void bytes(std::uint32_t field, std::string_view b) {
        header(field, b.size());
        raw(b);
    }

    void raw(std::string_view b) {
        // An empty view may carry a null pointer, which memcpy may not be given even for 0 bytes.
        if (!b.empty()) {
            std::memcpy(at_, b.data(), b.size());
            at_ += b.size();
        }
    }

    void optional_string(std::uint32_t field, std::string_view s) {
        if (!s.empty()) {
            bytes(field, s);
        }
    }

    void optional_varint(std::uint32_t field, std::uint64_t v) {
        if (v != 0) {
            byte(key(field, wire_varint));
            varint(v);
        }
    }

    void fixed64_field(std::uint32_t field, std::uint64_t bits) {
        byte(key(field, wire_fixed64));
        for (int i = 0; i < 8; ++i) {
            *at_++ = static_cast<char>((bits >> (8 * i)) & 0xff);
        }
    }

  private:
    char* at_;
};

// A map<string, string> entry: key and value always written, as protoc's code does.
std::size_t tag_entry_size(const envelope_tag& tag) {
    return field_size(tag.key.size()) + field_size(tag.value.size());
}

std::size_t gauge_value_size(const gauge_metric& m) {
    // proto3 leaves out a value whose bits are all zero (+0.0), as protoc's code does.
    return optional_string_size(m.unit) + (std::bit_cast<std::uint64_t>(m.value) != 0 ? 9 : 0);
}

std::size_t gauge_entry_size(const gauge_metric& m) {
    return field_size(m.name.size()) + field_size(gauge_value_size(m));
}

std::size_t gauge_size(std::span<const gauge_metric> metrics) {
    std::size_t n = 0;
    for (const gauge_metric& m : metrics) {
        n += field_size(gauge_entry_size(m));
    }
    return n;
}

std::size_t tags_size(std::span<const envelope_tag> tags) {
    std::size_t n = 0;
    for (const envelope_tag& tag : tags) {
        n += field_size(tag_entry_size(tag));
    }
    return n;
}

std::size_t header_size(const envelope_header& h, std::string_view encoded_tags) {
    std::size_t n = optional_varint_size(static_cast<std::uint64_t>(h.timestamp_ns)) +
                    optional_string_size(h.source_id) + optional_string_size(h.instance_id);
    return n + tags_size(h.tags) + encoded_tags.size();
}

// Envelope fields 1 and 2, before the message (5 or 6).
void put_header_start(cursor& out, const envelope_header& h) {
    out.optional_varint(1, static_cast<std::uint64_t>(h.timestamp_ns));
    out.optional_string(2, h.source_id);
}

void put_tags(cursor& out, std::span<const envelope_tag> tags) {
    for (const envelope_tag& tag : tags) {
        out.header(9, tag_entry_size(tag));
        out.bytes(1, tag.key);
        out.bytes(2, tag.value);
    }
}

// Envelope fields 8 and 9, after the message.
void put_header_end(cursor& out, const envelope_header& h, std::string_view encoded_tags) {
    out.optional_string(8, h.instance_id);
    put_tags(out, h.tags);
    out.raw(encoded_tags);
}

// The batch entry around an envelope of `envelope_bytes` (EnvelopeBatch.batch is field 1):
// `out` grows by the entry's size, the cursor starts after the entry's own header.
struct entry {
    entry(std::string& out, std::size_t envelope_bytes)
        : total(field_size(envelope_bytes)), at(out.size()), writer(nullptr) {
        out.resize(at + total);
        writer = cursor(out.data() + at);
        writer.header(1, envelope_bytes);
    }

    std::size_t total;
    std::size_t at;
    cursor writer;
};

std::int64_t saturated_product(std::int64_t value, std::int64_t factor) {
    constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
    constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
    if (value > max / factor) {
        return max;
    }
    if (value < min / factor) {
        return min;
    }
    return value * factor;
}

}  // namespace

void append_tag_entries(std::string& out, std::span<const envelope_tag> tags) {
    const std::size_t at = out.size();
    const std::size_t size = tags_size(tags);
    out.resize(at + size);
    cursor writer(out.data() + at);
    put_tags(writer, tags);
    assert(writer.position() == out.data() + at + size);
}

std::size_t append_gauge_envelope(std::string& out, const envelope_header& header,
                                  std::span<const gauge_metric> metrics,
                                  std::string_view encoded_tags) {
    const std::size_t gauge = gauge_size(metrics);
    entry e(out, header_size(header, encoded_tags) + field_size(gauge));
    cursor& w = e.writer;
    put_header_start(w, header);
    w.header(6, gauge);
    for (const gauge_metric& m : metrics) {
        w.header(1, gauge_entry_size(m));
        w.bytes(1, m.name);
        w.header(2, gauge_value_size(m));
        w.optional_string(1, m.unit);
        const auto bits = std::bit_cast<std::uint64_t>(m.value);
        if (bits != 0) {
            w.fixed64_field(2, bits);
        }
    }
    put_header_end(w, header, encoded_tags);
    assert(w.position() == out.data() + e.at + e.total);
    return e.total;
}

std::size_t append_counter_envelope(std::string& out, const envelope_header& header,
                                    std::string_view name, std::uint64_t delta,
                                    std::uint64_t total_value, std::string_view encoded_tags) {
    const std::size_t counter = optional_string_size(name) + optional_varint_size(delta) +
                                optional_varint_size(total_value);
    entry e(out, header_size(header, encoded_tags) + field_size(counter));
    cursor& w = e.writer;
    put_header_start(w, header);
    w.header(5, counter);
    w.optional_string(1, name);
    w.optional_varint(2, delta);
    w.optional_varint(3, total_value);
    put_header_end(w, header, encoded_tags);
    assert(w.position() == out.data() + e.at + e.total);
    return e.total;
}

std::size_t append_event_envelope(std::string& out, const envelope_header& header,
                                  std::string_view title, std::string_view body) {
    const std::size_t event = optional_string_size(title) + optional_string_size(body);
    entry e(out, header_size(header, {}) + field_size(event));
    cursor& w = e.writer;
    put_header_start(w, header);
    put_header_end(w, header, {});
    w.header(10, event);
    w.optional_string(1, title);
    w.optional_string(2, body);
    assert(w.position() == out.data() + e.at + e.total);
    return e.total;
}

std::int64_t nanoseconds_of_milliseconds(std::int64_t milliseconds) {
    return saturated_product(milliseconds, 1'000'000);
}

std::int64_t nanoseconds_of_seconds(std::int64_t seconds) {
    return saturated_product(seconds, 1'000'000'000);
}

}  // namespace mgw::loggregator
