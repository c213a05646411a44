// Unit tests: the status console's record of recent app scrapes: one entry per app, most recent
// first, bounded by evicting the app scraped longest ago.
#include <catch2/catch.hpp>

#include <mgw/apps/scrape_history.hpp>

using namespace mgw::apps;

namespace {

app_scrape_record record(std::string key, std::size_t up) {
    app_scrape_record r;
    r.key = std::move(key);
    r.identifier = r.key;
    r.instances_up = up;
    return r;
}

std::vector<std::string> keys(const scrape_history& history) {
    std::vector<std::string> out;
    for (const app_scrape_record& r : history.snapshot()) {
        out.push_back(r.key);
    }
    return out;
}

}  // namespace

TEST_CASE("scrape history: empty, then most recent first") {
    scrape_history history(4);
    CHECK(history.snapshot().empty());
    history.record(record("a", 1));
    history.record(record("b", 1));
    history.record(record("c", 1));
    CHECK(keys(history) == std::vector<std::string>{"c", "b", "a"});
}

TEST_CASE("scrape history: a new scrape of an app replaces its record and makes it recent") {
    scrape_history history(4);
    history.record(record("a", 1));
    history.record(record("b", 1));
    history.record(record("a", 3));
    const auto records = history.snapshot();
    REQUIRE(records.size() == 2);
    CHECK(records[0].key == "a");
    CHECK(records[0].instances_up == 3);
    CHECK(records[1].key == "b");
}

TEST_CASE("scrape history: beyond its capacity the app scraped longest ago goes") {
    scrape_history history(3);
    CHECK(history.capacity() == 3);
    history.record(record("a", 1));
    history.record(record("b", 1));
    history.record(record("c", 1));
    history.record(record("a", 1));  // a is recent again: b is now the oldest
    history.record(record("d", 1));
    CHECK(keys(history) == std::vector<std::string>{"d", "a", "c"});
    for (int i = 0; i < 100; ++i) {
        std::string key = "x";  // not "x" + ...: g++ 12's -Wrestrict false positive
        key += std::to_string(i);
        history.record(record(key, 1));
    }
    CHECK(keys(history) == std::vector<std::string>{"x99", "x98", "x97"});
}

TEST_CASE("scrape history: the default bound and a capacity of at least one") {
    CHECK(scrape_history().capacity() == scrape_history::default_capacity);
    scrape_history one(0);
    one.record(record("a", 1));
    one.record(record("b", 1));
    CHECK(keys(one) == std::vector<std::string>{"b"});
}
