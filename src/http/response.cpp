// Responses: fields, complete bodies and the streaming path. Content coding happens here, so
// the connection only ever moves bytes.
#include <mgw/compression/gzip.hpp>
#include <mgw/http/response.hpp>
#include <mgw/text/ascii.hpp>

namespace mgw::http {
response::response(init values) : init_(values) {}

response::~response() = default;

void response::set(std::string_view name, std::string_view value) {
    erase(name);
    fields_.emplace_back(std::string(name), std::string(value));
}

void response::erase(std::string_view name) {
    std::erase_if(fields_, [&](const auto& field) { return text::iequals(field.first, name); });
}

std::optional<std::string_view> response::header(std::string_view name) const {
    for (const auto& [k, v] : fields_) {
        if (text::iequals(k, name)) {
            return std::string_view(v);
        }
    }
    return std::nullopt;
}

bool response::compress_complete_body() {
    if (!init_.gzip_accepted || !compression_ || body_.size() < init_.gzip_min_bytes ||
        header("Content-Encoding")) {
        return false;
    }
    body_ = compression::gzip_compress(body_);
    set("Content-Encoding", "gzip");
    set("Vary", "Accept-Encoding");
    return true;
}

boost::asio::awaitable<boost::system::error_code> response::write_chunk(std::string_view data) {
    if (finished_) {
        co_return boost::system::errc::make_error_code(
            boost::system::errc::operation_not_permitted);
    }
    if (!streaming_) {
        streaming_ = true;
        if (init_.gzip_accepted && compression_ && !header("Content-Encoding")) {
            encoder_ = std::make_unique<compression::gzip_encoder>();
            set("Content-Encoding", "gzip");
            set("Vary", "Accept-Encoding");
        }
        if (auto ec = co_await init_.sink->write_head(*this, true)) {
            finished_ = true;
            co_return ec;
        }
    }
    if (encoder_) {
        scratch_.clear();
        encoder_->write(data, scratch_);
        co_return co_await send_body(scratch_);
    }
    co_return co_await send_body(data);
}

boost::asio::awaitable<boost::system::error_code> response::finish() {
    if (finished_) {
        co_return boost::system::error_code{};
    }
    if (!streaming_) {
        // A stream with no chunk at all still needs its head.
        if (auto ec = co_await write_chunk({})) {
            co_return ec;
        }
    }
    finished_ = true;
    if (encoder_) {
        scratch_.clear();
        encoder_->finish(scratch_);
        encoder_.reset();
        if (auto ec = co_await send_body(scratch_)) {
            co_return ec;
        }
    }
    if (init_.head_request) {
        co_return boost::system::error_code{};
    }
    co_return co_await init_.sink->write_end();
}

boost::asio::awaitable<boost::system::error_code> response::send_body(std::string_view data) {
    // An empty chunk would end the chunked body: skip it. HEAD answers carry no body at all.
    if (data.empty() || init_.head_request) {
        co_return boost::system::error_code{};
    }
    auto ec = co_await init_.sink->write_body(data);
    if (!ec) {
        bytes_sent_ += data.size();
    } else {
        finished_ = true;
    }
    co_return ec;
}

}  // namespace mgw::http
