// BOSH module: an HM JSON line as the System Metrics Server's definitions.Event, mapped field
// for field as the original (src/pkg/unmarshal) did, for the gRPC egress.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mgw::bosh {

// The serialized definitions.Event (no gRPC prefix), or nullopt where the original server
// dropped the line: not a JSON object, `kind` neither heartbeat nor alert, a field of the wrong
// JSON type (Go's strict unmarshal: id, index and metric values are strings, timestamps
// integers), or an index that is not an int32. Timestamps become nanoseconds; `index` "" is 0;
// metrics whose value does not parse as a float are left out; null leaves a field empty.
std::optional<std::string> encode_grpc_event(std::string_view json_line);

// The same, framed as one gRPC message (5-byte prefix); empty when not mappable.
std::string encode_grpc_event_message(std::string_view json_line);

}  // namespace mgw::bosh
