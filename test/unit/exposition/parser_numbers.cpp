// Number conversion: the parser's own fast path must agree bit for bit with strtod on
// decimal inputs of every shape the formats allow.
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "mgw/exposition/parser.hpp"

using mgw::exposition::errc;
using mgw::exposition::format;
using mgw::exposition::parse;
using mgw::exposition::parse_result;
using mgw::exposition::parsed_exposition;

namespace {

std::string random_digits(std::mt19937_64& rng, int count) {
    std::string digits;
    for (int i = 0; i < count; ++i)
        digits += static_cast<char>('0' + rng() % 10);
    return digits;
}

std::string random_number(std::mt19937_64& rng) {
    std::string text;
    const auto shape = rng() % 4;
    if (rng() % 4 == 0)
        text += (rng() % 2 ? '-' : '+');
    const int int_digits = static_cast<int>(rng() % 22);
    const int frac_digits = static_cast<int>(rng() % 22);
    text += random_digits(rng, shape == 3 ? 0 : std::max(int_digits, 1));
    if (shape >= 1) {
        text += '.';
        text += random_digits(rng, shape == 3 ? std::max(frac_digits, 1) : frac_digits);
    }
    if (shape == 2 || rng() % 3 == 0) {
        text += (rng() % 2 ? 'e' : 'E');
        const auto sign = rng() % 3;
        if (sign == 1)
            text += '-';
        if (sign == 2)
            text += '+';
        text += std::to_string(rng() % 330);
    }
    return text;
}

}  // namespace

TEST_CASE("parser: decimal values convert exactly like strtod") {
    std::mt19937_64 rng(20261122);
    std::vector<std::string> numbers;
    std::string body;
    for (int i = 0; i < 20000; ++i) {
        numbers.push_back(random_number(rng));
        body += "a{i=\"" + std::to_string(i) + "\"} " + numbers.back() + '\n';
    }
    parsed_exposition out;
    REQUIRE(parse(body, format::prometheus_text, out));
    REQUIRE(out.samples.size() == numbers.size());
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < numbers.size(); ++i) {
        const double expected = std::strtod(numbers[i].c_str(), nullptr);
        if (out.samples[i].value != expected ||
            std::signbit(out.samples[i].value) != std::signbit(expected)) {
            UNSCOPED_INFO(numbers[i] << " -> " << out.samples[i].value << " expected " << expected);
            ++mismatches;
        }
    }
    CHECK(mismatches == 0);
}

TEST_CASE("parser: malformed numbers are rejected in both formats") {
    for (const char* bad :
         {"0x1", "0X1p3", "1_000",   "1e",   "1e+",  ".",    "+",   "-",   "--1", "1..2", "1.2.3",
          "e5",  "Inf1",  "infinit", "nanx", "-nan", "+NaN", "0b1", "0o7", "1,5", "١"}) {
        INFO(bad);
        parsed_exposition out;
        const std::string prom = std::string("a ") + bad + "\n";
        const parse_result result = parse(prom, format::prometheus_text, out);
        REQUIRE_FALSE(result);
        CHECK(result.error().column == 3);
        CHECK(result.error().code == errc::syntax_error);
        const std::string om = prom + "# EOF\n";
        CHECK_FALSE(parse(om, format::openmetrics, out));
    }
}
