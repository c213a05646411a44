// The request seen by handlers; header lookups go through the connection's header_source.
#include <mgw/http/request_context.hpp>

namespace mgw::http {

request_context::request_context(init values) : init_(std::move(values)) {}

std::optional<std::string_view> request_context::query(std::string_view key) const {
    for (const auto& [k, v] : init_.query) {
        if (k == key) {
            return std::string_view(v);
        }
    }
    return std::nullopt;
}

std::optional<std::string_view> request_context::header(std::string_view name) const {
    if (init_.headers == nullptr) {
        return std::nullopt;
    }
    return init_.headers->find(name);
}

const std::string& request_context::body() const {
    static const std::string empty;
    return init_.body != nullptr ? *init_.body : empty;
}

void request_context::request_cancellation(boost::asio::cancellation_type type) {
    // Escalation only: a terminal request is never downgraded by a later total one.
    if (type == requested_ || requested_ == boost::asio::cancellation_type::terminal) {
        return;
    }
    requested_ = type;
    signal_.emit(type);
}

}  // namespace mgw::http
