// Pushed names and tag keys made valid Prometheus names.
#include "push/metric_name.hpp"

#include <catch2/catch.hpp>

using mgw::push::sanitize_label_name;
using mgw::push::sanitize_metric_name;

TEST_CASE("metric names: dots and other bytes to underscores, colons kept") {
    CHECK(sanitize_metric_name("jvm.memory.used") == "jvm_memory_used");
    CHECK(sanitize_metric_name("a-metric") == "a_metric");
    CHECK(sanitize_metric_name("rate:5m") == "rate:5m");
    CHECK(sanitize_metric_name("ok_Name09") == "ok_Name09");
    CHECK(sanitize_metric_name("caf\xc3\xa9") == "caf__");  // each UTF-8 byte
    CHECK(sanitize_metric_name("with space") == "with_space");
}

TEST_CASE("metric names: a leading digit gets an underscore in front") {
    CHECK(sanitize_metric_name("99percentile") == "_99percentile");
    CHECK(sanitize_metric_name("").empty());
}

TEST_CASE("label names: no colons, reserved prefix avoided") {
    CHECK(sanitize_label_name("k.v") == "k_v");
    CHECK(sanitize_label_name("a:b") == "a_b");
    CHECK(sanitize_label_name("1st") == "_1st");
    CHECK(sanitize_label_name("__name__") == "tag__name__");
    CHECK(sanitize_label_name("..x") == "tag__x");
    CHECK(sanitize_label_name("_x") == "_x");
}
