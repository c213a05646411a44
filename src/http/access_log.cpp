// Access log lines go through the structured logger so they share its format and level.
#include "access_log.hpp"

namespace mgw::http {

void log_access(core::logger& log, const access_entry& entry) {
    if (!log.enabled(core::log_level::info)) {
        return;
    }
    log.info("http request", {{"method", entry.method},
                              {"uri", entry.uri},
                              {"status", entry.status},
                              {"bytes", entry.bytes},
                              {"duration_ms", entry.duration_ms},
                              {"remote", entry.remote}});
}

}  // namespace mgw::http
