// The names of record_origin, shared by the SQLite store and the cluster's bucket records.
#include <mgw/broker/record_origin.hpp>

namespace mgw::broker {

std::string_view to_string(record_origin origin) {
    switch (origin) {
        case record_origin::adopted:
            return "adopted";
        case record_origin::promfetcher_import:
            return "promfetcher-import";
        case record_origin::broker:
            break;
    }
    return "broker";
}

std::optional<record_origin> record_origin_from_string(std::string_view text) {
    for (const auto origin :
         {record_origin::broker, record_origin::adopted, record_origin::promfetcher_import}) {
        if (to_string(origin) == text) {
            return origin;
        }
    }
    return std::nullopt;
}

}  // namespace mgw::broker
