// Broker module: where a service instance or binding came from, and its name as stored. Apart
// from the SQLite store so that the cluster's bucket records (and their fuzzer, which has no
// SQLite) can write and read the same names without linking the store.
#pragma once

#include <optional>
#include <string_view>

namespace mgw::broker {

// Where a record came from. `adopted`: an instance the Cloud Controller bound to without this
// broker having provisioned it (it was provisioned by the broker whose registration the
// gateway took over). `promfetcher_import`: a binding read from Promfetcher's app_endpoints
// table, which knew no instances: it has no instance_id and answers under any instance.
enum class record_origin { broker, adopted, promfetcher_import };

// "broker", "adopted", "promfetcher-import".
std::string_view to_string(record_origin origin);
// The origin named by `text` exactly; nullopt for any other text.
std::optional<record_origin> record_origin_from_string(std::string_view text);

}  // namespace mgw::broker
