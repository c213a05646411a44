// UAA calls are one request per connection (validation results are cached, so they are rare),
// each raced against uaa_timeout and bounded in number. Only definite verdicts are cached;
// "UAA down" or "UAA misbehaving" never is. What UAA's answers mean is read by the pure
// read_check_token_answer (uaa_answer.cpp) and verify_jwt (jwt.cpp).
#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <mgw/bosh/token_validator.hpp>
#include <mgw/core/log_throttle.hpp>
#include <mgw/text/ascii.hpp>

#include "jwt.hpp"
#include "uaa_answer.hpp"

namespace mgw::bosh {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

struct uaa_endpoint {
    bool tls = false;
    std::string host;
    std::string port;
    std::string path_prefix;  // without trailing '/'
};

uaa_endpoint parse_uaa_url(const std::string& url) {
    const auto parsed = boost::urls::parse_uri(url);
    if (!parsed) {
        throw std::invalid_argument("bosh.uaa.url: not a URL: " + url);
    }
    uaa_endpoint e;
    const std::string scheme(parsed->scheme());
    if (scheme != "http" && scheme != "https") {
        throw std::invalid_argument("bosh.uaa.url: scheme must be http or https: " + url);
    }
    e.tls = scheme == "https";
    e.host = std::string(parsed->host_address());
    if (e.host.empty()) {
        throw std::invalid_argument("bosh.uaa.url: no host: " + url);
    }
    e.port = parsed->has_port() ? std::string(parsed->port()) : (e.tls ? "443" : "80");
    e.path_prefix = std::string(parsed->encoded_path());
    while (!e.path_prefix.empty() && e.path_prefix.back() == '/') {
        e.path_prefix.pop_back();
    }
    return e;
}

struct http_reply {
    std::string error;  // transport failure; empty when a response arrived
    unsigned status = 0;
    std::string body;
};

template <typename Stream>
asio::awaitable<http_reply> exchange(Stream& stream, http::request<http::string_body>& request) {
    http_reply reply;
    auto [wec, wn] = co_await http::async_write(stream, request, use_tuple);
    if (wec) {
        reply.error = "write: " + wec.message();
        co_return reply;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (rec) {
        reply.error = "read: " + rec.message();
        co_return reply;
    }
    reply.status = parser.get().result_int();
    reply.body = std::move(parser.get().body());
    co_return reply;
}

asio::awaitable<http_reply> request_once(const uaa_endpoint& endpoint, asio::ssl::context& tls,
                                         http::request<http::string_body> request) {
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    auto [rec, results] = co_await resolver.async_resolve(endpoint.host, endpoint.port, use_tuple);
    if (rec) {
        co_return http_reply{"resolve: " + rec.message(), 0, {}};
    }
    tcp::socket socket(executor);
    auto [cec, connected] = co_await asio::async_connect(socket, results, use_tuple);
    if (cec) {
        co_return http_reply{"connect: " + cec.message(), 0, {}};
    }
    if (!endpoint.tls) {
        co_return co_await exchange(socket, request);
    }
    asio::ssl::stream<tcp::socket> stream(std::move(socket), tls);
    stream.set_verify_mode(asio::ssl::verify_peer);
    stream.set_verify_callback(asio::ssl::host_name_verification(endpoint.host));
    SSL_set_tlsext_host_name(stream.native_handle(), endpoint.host.c_str());
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (hec) {
        co_return http_reply{"tls: " + hec.message(), 0, {}};
    }
    co_return co_await exchange(stream, request);
}

std::string sha256(std::string_view text) {
    unsigned char digest[32];
    unsigned int size = 0;
    EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(digest), size);
}

std::string form_escape(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

// A token as RFC 6750 §2.1 allows it (b64token): JWTs and UAA's opaque tokens both are.
bool is_b64token(std::string_view token) {
    std::size_t i = 0;
    for (; i < token.size(); ++i) {
        const char c = token[i];
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' ||
                        c == '+' || c == '/';
        if (!ok) {
            break;
        }
    }
    if (i == 0) {
        return false;
    }
    for (; i < token.size(); ++i) {
        if (token[i] != '=') {
            return false;
        }
    }
    return true;
}

// The `result` label of mgw_bosh_uaa_requests_total: a fixed set, whatever status a peer sends.
std::string_view result_label(const http_reply& reply) {
    if (!reply.error.empty()) {
        return "error";
    }
    switch (reply.status) {
        case 200:
            return "200";
        case 400:
            return "400";
        case 401:
            return "401";
        case 403:
            return "403";
        case 404:
            return "404";
        default:
            return reply.status >= 500 && reply.status <= 599 ? "5xx" : "other";
    }
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

struct token_validator::impl {
    impl(asio::any_io_executor ex, token_validator_options o, core::logger& l,
         prometheus::Registry& registry)
        : executor(std::move(ex)),
          options(std::move(o)),
          log(l),
          endpoint(options.uaa_url.empty() ? uaa_endpoint{} : parse_uaa_url(options.uaa_url)),
          issuer(options.issuer.empty() ? trimmed_url(options.uaa_url) + "/oauth/token"
                                        : options.issuer),
          tls(asio::ssl::context::tls_client),
          decisions(prometheus::BuildCounter()
                        .Name("mgw_bosh_auth_total")
                        .Help("Event stream authorizations, by result (ok, unauthenticated, "
                              "forbidden, unavailable) and whether the cache answered.")
                        .Register(registry)),
          uaa_requests(prometheus::BuildCounter()
                           .Name("mgw_bosh_uaa_requests_total")
                           .Help("Requests to UAA, by endpoint and result (200, 400, 401, 403, "
                                 "404, 5xx, other, error: no answer, busy: not sent because "
                                 "bosh.uaa max requests were in flight).")
                           .Register(registry)) {
        tls.set_default_verify_paths();
        if (!options.ca_file.empty()) {
            tls.load_verify_file(options.ca_file);
        }
    }

    static std::string trimmed_url(std::string url) {
        while (!url.empty() && url.back() == '/') {
            url.pop_back();
        }
        return url;
    }

    struct cached {
        auth_decision decision;
        std::int64_t valid_until = 0;  // unix seconds
    };
    using cache_map = std::unordered_map<std::string, cached>;  // by SHA-256 of the token

    asio::any_io_executor executor;
    token_validator_options options;
    core::logger& log;
    uaa_endpoint endpoint;
    std::string issuer;
    asio::ssl::context tls;
    prometheus::Family<prometheus::Counter>& decisions;
    prometheus::Family<prometheus::Counter>& uaa_requests;
    core::log_throttle uaa_failure_log;
    std::atomic<std::size_t> uaa_in_flight{0};

    std::mutex mutex;
    cache_map accepted;
    cache_map refused;
    std::shared_ptr<const jwk_set> keys;
    std::chrono::steady_clock::time_point keys_fetched_at{};
    bool keys_fetching = false;
    std::string keys_error;  // last fetch failure, empty after a success

    void count(const auth_decision& d, bool from_cache) {
        decisions
            .Add({{"result", std::string(to_string(d.status))},
                  {"cached", from_cache ? "true" : "false"}})
            .Increment();
    }

    std::optional<auth_decision> recall(const std::string& key) {
        const std::lock_guard lock(mutex);
        const std::int64_t now = unix_now();
        for (cache_map* map : {&accepted, &refused}) {
            if (const auto it = map->find(key); it != map->end()) {
                if (it->second.valid_until > now) {
                    return it->second.decision;
                }
                map->erase(it);
            }
        }
        return std::nullopt;
    }

    void remember(const std::string& key, const auth_decision& d, std::int64_t until) {
        const std::lock_guard lock(mutex);
        cache_map& map = d.status == auth_status::ok ? accepted : refused;
        if (map.size() >= options.cache_entries && !map.contains(key)) {
            const std::int64_t now = unix_now();
            std::erase_if(map, [now](const auto& e) { return e.second.valid_until <= now; });
            if (map.size() >= options.cache_entries) {
                map.clear();  // a flood of distinct tokens: start over rather than grow
            }
        }
        map[key] = {d, until};
    }

    asio::awaitable<http_reply> call(std::string_view name, http::verb method, std::string path,
                                     std::string body) {
        http::request<http::string_body> request(method, endpoint.path_prefix + path, 11);
        request.set(http::field::host, endpoint.host);
        request.set(http::field::user_agent, "metrics-gateway");
        request.set(http::field::accept, "application/json");
        request.set(http::field::connection, "close");
        if (method == http::verb::post) {
            request.set(http::field::content_type, "application/x-www-form-urlencoded");
            const std::string credentials = options.client_id + ":" + options.client_secret;
            std::string basic;
            basic.resize(4 * ((credentials.size() + 2) / 3));
            EVP_EncodeBlock(reinterpret_cast<unsigned char*>(basic.data()),
                            reinterpret_cast<const unsigned char*>(credentials.data()),
                            static_cast<int>(credentials.size()));
            request.set(http::field::authorization, "Basic " + basic);
            request.body() = std::move(body);
            request.prepare_payload();
        }
        asio::steady_timer timer(co_await asio::this_coro::executor, options.uaa_timeout);
        auto outcome = co_await (request_once(endpoint, tls, std::move(request)) ||
                                 timer.async_wait(use_tuple));
        http_reply reply;
        if (outcome.index() == 0) {
            reply = std::move(std::get<0>(outcome));
        } else {
            reply.error = "timed out";
        }
        uaa_requests
            .Add({{"endpoint", std::string(name)}, {"result", std::string(result_label(reply))}})
            .Increment();
        if (!reply.error.empty()) {
            warn_uaa("UAA request failed", name, reply.error);
        }
        co_return reply;
    }

    // UAA trouble is logged, but at most once per 10 s: every client's attempt would repeat it.
    void warn_uaa(std::string_view message, std::string_view endpoint_name,
                  std::string_view error) {
        if (const auto occurrences = uaa_failure_log.admit()) {
            log.warn(message, {{"endpoint", endpoint_name},
                               {"url", options.uaa_url},
                               {"error", error},
                               {"occurrences", *occurrences}});
        }
    }

    asio::awaitable<token_verdict> check_token(const std::string& token) {
        if (uaa_in_flight.fetch_add(1) >= options.max_uaa_requests) {
            uaa_in_flight.fetch_sub(1);
            uaa_requests.Add({{"endpoint", "check_token"}, {"result", "busy"}}).Increment();
            co_return token_verdict{
                {auth_status::unavailable,
                 "cannot validate the token now: too many token checks in progress"},
                0};
        }
        struct release {
            std::atomic<std::size_t>& n;
            ~release() { n.fetch_sub(1); }
        } in_flight{uaa_in_flight};
        const http_reply reply = co_await call(
            "check_token", http::verb::post, "/check_token",
            "token=" + form_escape(token) + "&scopes=" + form_escape(options.authority));
        if (!reply.error.empty()) {
            co_return token_verdict{
                {auth_status::unavailable,
                 "cannot validate the token: UAA unreachable (" + reply.error + ")"},
                0};
        }
        check_token_context context;
        context.authority = options.authority;
        context.now_unix = unix_now();
        context.negative_ttl_seconds = options.negative_cache_ttl.count();
        context.max_positive_ttl_seconds = options.max_cache_ttl.count();
        token_verdict verdict = read_check_token_answer(reply.status, reply.body, context);
        if (verdict.decision.status == auth_status::unavailable) {
            warn_uaa("UAA answer unusable", "check_token", verdict.decision.message);
        }
        co_return verdict;
    }

    // Fetches /token_keys unless it was fetched (or is being fetched) within the interval.
    asio::awaitable<void> refresh_keys(bool force) {
        {
            const std::lock_guard lock(mutex);
            const auto now = std::chrono::steady_clock::now();
            if (keys_fetching ||
                (!force && keys && now - keys_fetched_at < options.keys_refresh_interval)) {
                co_return;
            }
            if (keys && now - keys_fetched_at < options.keys_refresh_interval) {
                co_return;
            }
            keys_fetching = true;
        }
        const http_reply reply = co_await call("token_keys", http::verb::get, "/token_keys", {});
        auto fresh = std::make_shared<jwk_set>();
        std::string error = reply.error;
        if (error.empty() && reply.status != 200) {
            error = "status " + std::to_string(reply.status);
        }
        if (error.empty()) {
            fresh->parse(reply.body, error);
        }
        const std::lock_guard lock(mutex);
        keys_fetching = false;
        if (error.empty()) {
            keys = std::move(fresh);
            keys_fetched_at = std::chrono::steady_clock::now();
            keys_error.clear();
        } else {
            keys_error = error;
            warn_uaa("UAA token keys unavailable", "token_keys", error);
        }
    }

    asio::awaitable<token_verdict> verify_locally(const std::string& token) {
        std::shared_ptr<const jwk_set> current;
        {
            const std::lock_guard lock(mutex);
            current = keys;
        }
        if (!current) {
            co_await refresh_keys(true);
        }
        for (int attempt = 0; attempt < 2; ++attempt) {
            std::string fetch_error;
            {
                const std::lock_guard lock(mutex);
                current = keys;
                fetch_error = keys_error;
            }
            if (!current) {
                co_return token_verdict{
                    {auth_status::unavailable,
                     "cannot validate the token: UAA token keys unavailable (" +
                         (fetch_error.empty() ? std::string("fetch in progress") : fetch_error) +
                         ")"},
                    0};
            }
            jwt_expectations expect;
            expect.now_unix = unix_now();
            expect.authority = options.authority;
            expect.issuer = issuer;
            const jwt_result r = verify_jwt(token, *current, expect);
            const std::int64_t negative_until =
                expect.now_unix + options.negative_cache_ttl.count();
            switch (r.status) {
                case jwt_status::ok:
                    co_return token_verdict{
                        {auth_status::ok, {}},
                        std::min(r.expires_at, expect.now_unix + options.max_cache_ttl.count())};
                case jwt_status::missing_authority:
                    co_return token_verdict{{auth_status::forbidden, r.detail}, negative_until};
                case jwt_status::unknown_key:
                    if (attempt == 0) {
                        co_await refresh_keys(false);  // UAA may have rotated its key
                        continue;
                    }
                    if (!fetch_error.empty()) {
                        co_return token_verdict{
                            {auth_status::unavailable,
                             "cannot validate the token: UAA token keys unavailable (" +
                                 fetch_error + ")"},
                            0};
                    }
                    // Remembered only until the keys may be fetched again: the key may be
                    // new at UAA, and the refresh was merely rate-limited.
                    co_return token_verdict{
                        {auth_status::unauthenticated, "invalid token: " + r.detail},
                        expect.now_unix + std::chrono::duration_cast<std::chrono::seconds>(
                                              options.keys_refresh_interval)
                                              .count()};
                default:
                    co_return token_verdict{
                        {auth_status::unauthenticated, "invalid token: " + r.detail},
                        negative_until};
            }
        }
        co_return token_verdict{{auth_status::unauthenticated, "invalid token"},
                                unix_now() + options.negative_cache_ttl.count()};
    }
};

token_validator::token_validator(asio::any_io_executor executor, token_validator_options options,
                                 core::logger& log, prometheus::Registry& registry)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(options), log, registry)) {}

token_validator::~token_validator() = default;

asio::awaitable<auth_decision> token_validator::validate(std::string_view authorization) {
    auto self = impl_;
    if (self->options.uaa_url.empty()) {
        // Heartbeats may be ingested only to reach Loggregator or the gauges; with no UAA to
        // ask, no token can be accepted, and saying so beats a 401 that no token would cure.
        auth_decision d{auth_status::forbidden,
                        "no token can be accepted: this gateway has no bosh.uaa configured"};
        self->count(d, false);
        co_return d;
    }
    std::string_view token = text::trim_whitespace(authorization);
    if (text::istarts_with(token, "bearer ")) {
        token = text::trim_whitespace(token.substr(7));
    }
    if (token.empty()) {
        auth_decision d{auth_status::unauthenticated,
                        "missing token: send Authorization: bearer <UAA access token>"};
        self->count(d, false);
        co_return d;
    }
    if (token.size() > 16384) {
        auth_decision d{auth_status::unauthenticated, "invalid token: too long"};
        self->count(d, false);
        co_return d;
    }
    if (!is_b64token(token)) {
        auth_decision d{auth_status::unauthenticated, "invalid token: not a bearer token"};
        self->count(d, false);
        co_return d;
    }
    const std::string key = sha256(token);
    if (auto remembered = self->recall(key)) {
        self->count(*remembered, true);
        co_return std::move(*remembered);
    }
    const std::string owned(token);
    // Not a conditional expression with two co_awaits: g++ 12 mishandles the temporaries.
    token_verdict verdict;
    if (self->options.mode == auth_mode::jwt) {
        verdict = co_await self->verify_locally(owned);
    } else {
        verdict = co_await self->check_token(owned);
    }
    if (verdict.decision.status != auth_status::unavailable && verdict.cache_until > unix_now()) {
        self->remember(key, verdict.decision, verdict.cache_until);
    }
    self->count(verdict.decision, false);
    co_return verdict.decision;
}

}  // namespace mgw::bosh
