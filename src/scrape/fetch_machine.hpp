// Scrape module (internal): the decisions of one instance fetch, I/O-free. The coroutine in
// scraper.cpp only does what this machine says (take a pooled connection or open one, run the
// HTTP exchange, keep or drop the connection) and feeds back what happened; which outcome ends
// the fetch, when a stale pooled connection earns one retry, and how redirects are followed and
// bounded are decided here and tested without sockets (test/unit/scrape/fetch_machine_test.cpp).
#pragma once

#include <string>
#include <string_view>

#include <mgw/scrape/result.hpp>
#include <mgw/scrape/target.hpp>

namespace mgw::scrape {

// What one HTTP exchange on a connection gave, as the coroutine saw it.
struct exchange_report {
    scrape_error error = scrape_error::ok;
    std::string_view reason;        // when error != ok (a fixed string)
    bool nothing_received = false;  // the connection failed before any response byte
    bool reusable = false;          // response fully read and keep-alive
    std::string_view location;      // a redirect's Location, when error == http_status
    int status = 0;                 // the response's status code, when one was read
};

class fetch_machine {
  public:
    enum class action {
        acquire,   // take a pooled connection for the target, or open one
        exchange,  // send the request for path() on the connection held
        finish,    // the fetch is over: see outcome(); keep the connection if keep()
    };

    fetch_machine(const scrape_target& target, std::string path);

    // Where the fetch starts: a connection is needed.
    action start() { return action::acquire; }
    // The connection is held (`reused`: it came from the pool).
    action connected(bool reused);
    // No connection could be opened: the fetch ends with `error` / `reason`.
    action connect_failed(scrape_error error, std::string_view reason);
    // The exchange on the held connection ended as `report` says.
    action exchanged(const exchange_report& report);

    // The request target to send (the configured path, then each redirect's).
    const std::string& path() const { return path_; }
    // After finish: the fetch's result (ok, or the error and its reason) and whether the
    // connection goes back to the pool.
    scrape_error error() const { return error_; }
    const std::string& reason() const { return reason_; }
    bool keep() const { return keep_; }
    int redirects() const { return redirects_; }

  private:
    action finish(scrape_error error, std::string reason);

    const scrape_target& target_;
    std::string path_;
    bool reused_ = false;
    bool retried_stale_ = false;
    int redirects_ = 0;
    scrape_error error_ = scrape_error::ok;
    std::string reason_;
    bool keep_ = false;
};

}  // namespace mgw::scrape
