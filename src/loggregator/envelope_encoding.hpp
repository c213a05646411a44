// Loggregator module: v2 envelopes written straight into protobuf wire format, each one as an
// entry of `EnvelopeBatch.batch` (field 1), so that a BatchSender message is a gRPC prefix
// followed by entries copied back to back. Written by hand rather than through the messages
// protoc generates from proto/loggregator-api because pushes reach it at hundreds of
// thousands of metrics per second, where building a message with its maps would cost more than
// the push itself; the unit tests and a fuzz target parse every shape with the generated
// messages and compare field by field. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mgw::loggregator {

struct envelope_tag {
    std::string_view key;
    std::string_view value;
};

// The fields every envelope has; empty strings and a zero timestamp are left out, as proto3
// writes them.
struct envelope_header {
    std::int64_t timestamp_ns = 0;
    std::string_view source_id;
    std::string_view instance_id;
    std::span<const envelope_tag> tags;  // Envelope.tags (field 9), in this order
};

struct gauge_metric {
    std::string_view name;
    std::string_view unit;
    double value = 0;
};

// Appends `tags` as encoded Envelope.tags entries, for the `encoded_tags` below.
void append_tag_entries(std::string& out, std::span<const envelope_tag> tags);

// Each appends one batch entry (tag, length, Envelope) to `out` and returns its size in bytes.
// `encoded_tags` (from append_tag_entries) are more Envelope.tags entries, written after the
// header's tags as they are: tags shared by many envelopes (a push's app and instance) are
// encoded once instead of once per envelope.
std::size_t append_gauge_envelope(std::string& out, const envelope_header& header,
                                  std::span<const gauge_metric> metrics,
                                  std::string_view encoded_tags = {});
std::size_t append_counter_envelope(std::string& out, const envelope_header& header,
                                    std::string_view name, std::uint64_t delta, std::uint64_t total,
                                    std::string_view encoded_tags = {});
std::size_t append_event_envelope(std::string& out, const envelope_header& header,
                                  std::string_view title, std::string_view body);

// Nanoseconds of `milliseconds` (or `seconds`), saturated at the int64 range instead of
// overflowing: timestamps come from clients.
std::int64_t nanoseconds_of_milliseconds(std::int64_t milliseconds);
std::int64_t nanoseconds_of_seconds(std::int64_t seconds);

}  // namespace mgw::loggregator
