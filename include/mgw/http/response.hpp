// HTTP server module: what a handler produces. Either a complete response (status, header
// fields, body; sent after the handler returns) or a streamed one (chunked, written while the
// handler runs, each write awaited so a slow client slows the producer down).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/system/error_code.hpp>

namespace mgw::compression {
class gzip_encoder;
}  // namespace mgw::compression

namespace mgw::http {

using status = boost::beast::http::status;

// Where a streamed response goes: implemented by the connection.
class response_sink {
  public:
    // Sends the status line and the fields of `res`. `streamed`: the body follows in chunks of
    // unknown total size.
    virtual boost::asio::awaitable<boost::system::error_code> write_head(const class response& res,
                                                                         bool streamed) = 0;
    virtual boost::asio::awaitable<boost::system::error_code> write_body(std::string_view data) = 0;
    virtual boost::asio::awaitable<boost::system::error_code> write_end() = 0;

  protected:
    ~response_sink() = default;
};

class response {
  public:
    struct init {
        response_sink* sink = nullptr;
        bool gzip_accepted = false;  // the request's Accept-Encoding allows gzip
        bool head_request = false;   // HEAD: fields are sent, the body never is
        std::size_t gzip_min_bytes = 1024;
        // Where a streamed body's producer may run while the previous chunk is being written
        // (stream_body.hpp): the io_context's executor, so the other thread can render. Empty:
        // produce and write take turns on the connection's strand.
        boost::asio::any_io_executor worker{};
    };

    explicit response(init values);
    ~response();
    response(const response&) = delete;
    response& operator=(const response&) = delete;

    http::status status() const { return status_; }
    void status(http::status code) { status_ = code; }

    // Replaces every field named `name` (case-insensitive) by one with `value`.
    void set(std::string_view name, std::string_view value);
    void erase(std::string_view name);
    std::optional<std::string_view> header(std::string_view name) const;
    const std::vector<std::pair<std::string, std::string>>& headers() const { return fields_; }

    // Complete responses: the body sent once the handler returns.
    std::string& body() { return body_; }
    const std::string& body() const { return body_; }
    void body(std::string text) { body_ = std::move(text); }

    // Streamed responses: the first call sends the status and fields (chunked transfer coding;
    // gzip content coding when the client accepts it), later calls send more. A non-empty
    // error means the client is gone or the request was cancelled: stop producing.
    boost::asio::awaitable<boost::system::error_code> write_chunk(std::string_view data);
    // Ends a streamed response (gzip trailer, last chunk). The server calls it when a
    // streaming handler returns without doing so.
    boost::asio::awaitable<boost::system::error_code> finish();

    // On by default (used when the client accepts gzip). Event streams turn it off: the gzip
    // encoder holds bytes back until it has a block, so an event would wait for the next ones.
    void compression(bool enabled) { compression_ = enabled; }

    bool streaming() const { return streaming_; }
    bool finished() const { return finished_; }
    bool head_request() const { return init_.head_request; }
    const boost::asio::any_io_executor& worker() const { return init_.worker; }
    // Body bytes handed to the connection, after compression (for the access log).
    std::uint64_t bytes_sent() const { return bytes_sent_; }

    // For the connection, before it sends a complete response: gzips the body when the client
    // accepts it, the body is at least gzip_min_bytes and no content coding is set yet.
    bool compress_complete_body();
    void add_bytes_sent(std::uint64_t n) { bytes_sent_ += n; }

  private:
    boost::asio::awaitable<boost::system::error_code> send_body(std::string_view data);

    init init_;
    http::status status_ = http::status::ok;
    std::vector<std::pair<std::string, std::string>> fields_;
    std::string body_;
    bool compression_ = true;
    bool streaming_ = false;
    bool finished_ = false;
    std::uint64_t bytes_sent_ = 0;
    std::unique_ptr<compression::gzip_encoder> encoder_;  // set while a gzip stream is open
    std::string scratch_;
};

}  // namespace mgw::http
