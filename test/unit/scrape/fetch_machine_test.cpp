// The instance fetch's decisions without a socket: the events the scraper's coroutine feeds in
// (connection held or not, what an exchange gave) and the actions it must take back.
#include "scrape/fetch_machine.hpp"

#include <catch2/catch.hpp>

using mgw::scrape::exchange_report;
using mgw::scrape::fetch_machine;
using mgw::scrape::scrape_error;
using mgw::scrape::scrape_target;
using action = fetch_machine::action;

namespace {

scrape_target target() {
    scrape_target t;
    t.host = "10.0.0.7";
    t.port = 8080;
    t.path = "/metrics";
    return t;
}

exchange_report report(scrape_error error, int status = 0, std::string_view reason = {}) {
    exchange_report r;
    r.error = error;
    r.status = status;
    r.reason = reason;
    return r;
}

exchange_report ok(bool reusable) {
    exchange_report r = report(scrape_error::ok, 200);
    r.reusable = reusable;
    return r;
}

exchange_report silent_close() {
    exchange_report r = report(scrape_error::protocol_error, 0, "closed");
    r.nothing_received = true;
    return r;
}

exchange_report redirect(std::string_view location) {
    exchange_report r = report(scrape_error::http_status, 302);
    r.location = location;
    return r;
}

}  // namespace

TEST_CASE("fetch machine: a new connection, a 200 kept alive, the connection goes back") {
    const scrape_target t = target();
    fetch_machine m(t, t.path);
    CHECK(m.start() == action::acquire);
    CHECK(m.connected(false) == action::exchange);
    CHECK(m.path() == "/metrics");
    CHECK(m.exchanged(ok(true)) == action::finish);
    CHECK(m.error() == scrape_error::ok);
    CHECK(m.reason().empty());
    CHECK(m.keep());
}

TEST_CASE("fetch machine: a 200 that closes the connection is not pooled") {
    const scrape_target t = target();
    fetch_machine m(t, "");
    CHECK(m.path() == "/metrics");  // an empty configured path is Promfetcher's default
    m.start();
    m.connected(true);
    CHECK(m.exchanged(ok(false)) == action::finish);
    CHECK(m.error() == scrape_error::ok);
    CHECK_FALSE(m.keep());
}

TEST_CASE("fetch machine: a pooled connection closed before any byte earns one retry") {
    const scrape_target t = target();
    fetch_machine m(t, t.path);
    m.start();
    CHECK(m.connected(true) == action::exchange);
    CHECK(m.exchanged(silent_close()) == action::acquire);
    SECTION("the retry on a second pooled connection that also closes ends the fetch") {
        CHECK(m.connected(true) == action::exchange);
        CHECK(m.exchanged(silent_close()) == action::finish);
        CHECK(m.error() == scrape_error::protocol_error);
        CHECK(m.reason() == "closed");
        CHECK_FALSE(m.keep());
    }
    SECTION("the retry on a new connection answers") {
        CHECK(m.connected(false) == action::exchange);
        CHECK(m.exchanged(ok(true)) == action::finish);
        CHECK(m.error() == scrape_error::ok);
    }
}

TEST_CASE("fetch machine: a new connection closed before any byte is the instance's failure") {
    const scrape_target t = target();
    fetch_machine m(t, t.path);
    m.start();
    m.connected(false);
    CHECK(m.exchanged(silent_close()) == action::finish);
    CHECK(m.error() == scrape_error::protocol_error);
}

TEST_CASE("fetch machine: a failure after bytes arrived is never retried") {
    const scrape_target t = target();
    fetch_machine m(t, t.path);
    m.start();
    m.connected(true);
    CHECK(m.exchanged(report(scrape_error::body_too_large, 0, "limit")) == action::finish);
    CHECK(m.error() == scrape_error::body_too_large);
    CHECK(m.reason() == "limit");
}

TEST_CASE("fetch machine: a connect failure ends the fetch with its classification") {
    const scrape_target t = target();
    fetch_machine m(t, t.path);
    m.start();
    CHECK(m.connect_failed(scrape_error::tls_error, "certificate") == action::finish);
    CHECK(m.error() == scrape_error::tls_error);
    CHECK(m.reason() == "certificate");
}

TEST_CASE("fetch machine: a status without a redirect is status_N") {
    const scrape_target t = target();
    fetch_machine m(t, t.path);
    m.start();
    m.connected(false);
    CHECK(m.exchanged(report(scrape_error::http_status, 503)) == action::finish);
    CHECK(m.error() == scrape_error::http_status);
    CHECK(m.reason() == "status_503");
}

TEST_CASE("fetch machine: same-host redirects are followed, at most three") {
    const scrape_target t = target();
    fetch_machine m(t, t.path);
    m.start();
    m.connected(false);
    CHECK(m.exchanged(redirect("/actuator/prometheus")) == action::acquire);
    CHECK(m.path() == "/actuator/prometheus");
    for (int hop = 2; hop <= 3; ++hop) {
        m.connected(true);
        CHECK(m.exchanged(redirect("/hop" + std::to_string(hop))) == action::acquire);
        CHECK(m.path() == "/hop" + std::to_string(hop));
    }
    m.connected(true);
    CHECK(m.exchanged(redirect("/hop4")) == action::finish);
    CHECK(m.error() == scrape_error::redirect_refused);
    CHECK(m.reason() == "too_many");
    CHECK(m.redirects() == 4);
}

TEST_CASE("fetch machine: a redirect to another host is refused") {
    const scrape_target t = target();
    fetch_machine m(t, t.path);
    m.start();
    m.connected(false);
    CHECK(m.exchanged(redirect("http://10.0.0.8:8080/metrics")) == action::finish);
    CHECK(m.error() == scrape_error::redirect_refused);
    CHECK(m.reason() == "other_host");
}
