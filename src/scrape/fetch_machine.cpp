// The decisions of one instance fetch (see fetch_machine.hpp).
#include "fetch_machine.hpp"

#include <string>
#include <utility>

#include "redirect.hpp"

namespace mgw::scrape {

fetch_machine::fetch_machine(const scrape_target& target, std::string path)
    : target_(target), path_(path.empty() ? std::string("/metrics") : std::move(path)) {}

fetch_machine::action fetch_machine::connected(bool reused) {
    reused_ = reused;
    return action::exchange;
}

fetch_machine::action fetch_machine::connect_failed(scrape_error error, std::string_view reason) {
    return finish(error, std::string(reason));
}

fetch_machine::action fetch_machine::exchanged(const exchange_report& report) {
    if (report.error != scrape_error::ok && report.nothing_received && reused_ && !retried_stale_) {
        // The server closed the idle connection as we reused it: not the instance's fault.
        // Once only: a second silent close is the instance's answer.
        retried_stale_ = true;
        return action::acquire;
    }
    if (report.error == scrape_error::ok) {
        keep_ = report.reusable;
        return finish(scrape_error::ok, {});
    }
    if (report.error == scrape_error::http_status && !report.location.empty()) {
        if (++redirects_ > max_redirects) {
            return finish(scrape_error::redirect_refused, "too_many");
        }
        auto next = resolve_redirect(target_, path_, report.location);
        if (!next) {
            return finish(scrape_error::redirect_refused, "other_host");
        }
        path_ = std::move(*next);
        return action::acquire;
    }
    if (report.error == scrape_error::http_status) {
        return finish(scrape_error::http_status, "status_" + std::to_string(report.status));
    }
    return finish(report.error, std::string(report.reason));
}

fetch_machine::action fetch_machine::finish(scrape_error error, std::string reason) {
    error_ = error;
    reason_ = std::move(reason);
    return action::finish;
}

}  // namespace mgw::scrape
