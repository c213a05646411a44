// Unit tests: the router.start / greet payload and the subscriber's option checks (no socket:
// the NATS client is never started).
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <mgw/routes/route_subscriber.hpp>
#include <mgw/text/uuid.hpp>

using namespace std::chrono_literals;

namespace {

struct fixture {
    boost::asio::io_context ioc;
    boost::asio::strand<boost::asio::io_context::executor_type> strand{
        boost::asio::make_strand(ioc)};
    mgw::core::logger log{mgw::core::log_level::error};
    prometheus::Registry registry;
    mgw::routes::route_table table;
    mgw::nats::client nats{strand, {}, log, registry};
};

}  // namespace

TEST_CASE("router.start payload carries id, hosts, interval and prune threshold") {
    fixture f;
    mgw::routes::subscriber_options options;
    options.hosts = {"10.0.0.5"};
    options.minimum_register_interval = 20s;
    mgw::routes::route_subscriber sub(f.strand, f.table, f.nats,
                                      mgw::routes::route_table_options{120s}, options, f.log,
                                      f.registry);
    const auto doc = boost::json::parse(sub.start_payload()).as_object();
    CHECK(doc.size() == 4);
    const std::string id(doc.at("id").as_string());
    REQUIRE(id.size() == 2 + 36);
    CHECK(id.substr(0, 2) == "0-");
    CHECK(mgw::text::is_uuid(id.substr(2)));
    CHECK(id[2 + 14] == '4');  // version 4
    CHECK(doc.at("hosts").as_array() == boost::json::array{"10.0.0.5"});
    CHECK(doc.at("minimumRegisterIntervalInSeconds").as_int64() == 20);
    CHECK(doc.at("pruneThresholdInSeconds").as_int64() == 120);
}

TEST_CASE("an explicit router id is kept and the threshold is raised to the interval") {
    fixture f;
    mgw::routes::subscriber_options options;
    options.router_id = "3-fixed";
    options.minimum_register_interval = 60s;
    mgw::routes::route_subscriber sub(f.strand, f.table, f.nats,
                                      mgw::routes::route_table_options{30s}, options, f.log,
                                      f.registry);
    const auto doc = boost::json::parse(sub.start_payload()).as_object();
    CHECK(doc.at("id") == "3-fixed");
    CHECK(doc.at("hosts").as_array().empty());
    CHECK(doc.at("pruneThresholdInSeconds").as_int64() == 60);
}

TEST_CASE("a zero register interval is refused, never advertised") {
    fixture f;
    mgw::routes::subscriber_options options;
    options.minimum_register_interval = 0s;
    CHECK_THROWS_AS(
        mgw::routes::route_subscriber(f.strand, f.table, f.nats, {}, options, f.log, f.registry),
        std::invalid_argument);
    options.minimum_register_interval = 20s;
    options.prune_interval = 0ms;
    CHECK_THROWS_AS(
        mgw::routes::route_subscriber(f.strand, f.table, f.nats, {}, options, f.log, f.registry),
        std::invalid_argument);
}
