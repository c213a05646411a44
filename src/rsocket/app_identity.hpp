// RSocket module (internal): what a client says about the app it belongs to, read from its
// SETUP payload or from the labels of its metrics.
#pragma once

#include <string>
#include <string_view>

namespace mgw::rsocket {

// The app GUID a client belongs to, from its SETUP payload (a GUID, or JSON with `app_id` /
// `application_id`) or from the labels of its metrics (`app_id="..."`, `application_id="..."`);
// empty when neither names one. Returned in text::canonical_uuid's spelling.
std::string app_guid_in_setup(std::string_view payload);
std::string app_guid_in_labels(std::string_view exposition_text);

}  // namespace mgw::rsocket
