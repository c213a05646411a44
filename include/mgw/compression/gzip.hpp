// gzip (RFC 1952) through ISA-L's igzip: a streaming encoder for responses and a bounded
// streaming decoder for scraped bodies, so a gzip bomb stops at the caller's size limit.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace mgw::compression {

// Compresses a stream of chunks into one gzip member. Level 1: igzip level 1 is several times
// faster than zlib level 1 at a similar ratio, and compression dominates large scrapes.
class gzip_encoder {
  public:
    gzip_encoder();
    ~gzip_encoder();
    gzip_encoder(gzip_encoder&&) noexcept;
    gzip_encoder& operator=(gzip_encoder&&) noexcept;

    // Appends the compressed form of `input` (possibly nothing yet) to `output`.
    void write(std::string_view input, std::string& output);
    // Flushes everything and appends the gzip trailer; the encoder is then finished.
    void finish(std::string& output);

  private:
    struct state;
    std::unique_ptr<state> state_;
};

enum class gzip_status {
    ok,           // consumed the input; more may follow
    done,         // the gzip member ended (trailing bytes after it are ignored)
    too_large,    // the decoded size would exceed the limit: stop reading
    corrupt,      // not gzip, bad header, bad deflate data or bad CRC/size
    output_full,  // write_within_capacity: the output has no room left, input or output pending
};

// Decompresses a gzip stream chunk by chunk, never producing more than `max_output` bytes.
class gzip_decoder {
  public:
    explicit gzip_decoder(std::size_t max_output);
    ~gzip_decoder();
    gzip_decoder(gzip_decoder&&) noexcept;
    gzip_decoder& operator=(gzip_decoder&&) noexcept;

    // Appends the decoded bytes of `input` to `output`.
    gzip_status write(std::string_view input, std::string& output);
    // The same, without ever growing `output` past its capacity, so that its holder can lease
    // every byte before the decoder fills it: consumes from the front of `input` what it
    // decoded and returns output_full when `output` is full while input (or decoded output the
    // decoder still holds) remains. Reserve more, then call again with what is left of `input`
    // (possibly nothing).
    gzip_status write_within_capacity(std::string_view& input, std::string& output);
    std::size_t decoded_bytes() const;

  private:
    struct state;
    std::unique_ptr<state> state_;
};

// One-shot helpers over the classes above.
std::string gzip_compress(std::string_view input);
gzip_status gzip_decompress(std::string_view input, std::size_t max_output, std::string& output);

}  // namespace mgw::compression
