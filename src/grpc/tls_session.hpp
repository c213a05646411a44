// gRPC module: one TLS session (OpenSSL) whose records go straight to a sink instead of through
// Asio's SSL stream. Why: asio::ssl::stream passes every record through a BIO pair (OpenSSL
// copies the record into the pair, Asio copies it out again into a buffer of its own) and sends
// each 16 KiB record with a write operation of its own. Here OpenSSL's transport is a BIO of
// ours: a record is handed to the sink (the socket, non-blocking) from OpenSSL's own buffer, and
// only what the sink cannot take at once is kept (`pending`) for the shell to write
// asynchronously, so the records of one write cost no copy and no completion each.
// No I/O of its own: the shell feeds the bytes it read and owns the socket behind the sink;
// the unit tests pair two sessions in memory.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <openssl/ssl.h>

namespace mgw::grpc {

// Where ciphertext goes first. send() takes what it can without blocking (0 when it can take
// nothing now) or returns -1 when the transport failed.
class tls_sink {
  public:
    virtual ~tls_sink() = default;
    virtual std::ptrdiff_t send(const char* data, std::size_t size) = 0;
};

class tls_session {
  public:
    enum class status {
        done,       // the step is complete
        want_read,  // more bytes from the peer are needed (feed them, then call again)
        closed,     // the peer ended the session (close_notify)
        failed,     // a TLS error (error() says which) or the sink failed
    };

    // Takes ownership of `ssl` (SSL_new'd, connect or accept state set by the caller). Without
    // a sink every record goes to pending().
    explicit tls_session(SSL* ssl, tls_sink* sink = nullptr);
    ~tls_session();
    tls_session(const tls_session&) = delete;
    tls_session& operator=(const tls_session&) = delete;

    SSL* native() const { return ssl_; }

    // Bytes read from the peer, for handshake() and read().
    void feed(std::string_view ciphertext);

    status handshake();
    // Encrypts all of `plaintext` (records of 16 KiB at most) to the sink or pending().
    status write(std::string_view plaintext);
    // Up to `capacity` bytes of plaintext into `out`; `got` is how many (done: at least one).
    status read(char* out, std::size_t capacity, std::size_t& got);
    // Sends close_notify.
    void shutdown();

    // Ciphertext the sink did not take, oldest first. While the shell writes it
    // (begin_flush..end_flush) new records queue behind it instead of going to the sink.
    bool has_pending() const { return !pending_.empty(); }
    // Moves what is pending into `into` (cleared first) for one asynchronous write.
    void begin_flush(std::string& into);
    void end_flush() { flushing_ = false; }

    // Why the last step failed: OpenSSL's reason (and the certificate check's verdict).
    const std::string& error() const { return error_; }
    bool sink_failed() const { return sink_failed_; }

    // The BIO's callbacks (a C interface): not for callers.
    int on_write(const char* data, int size);
    int on_read(char* out, int size);

  private:
    status fail_from(int result);

    SSL* ssl_;
    tls_sink* sink_;
    std::string inbox_;  // fed, not yet read by OpenSSL
    std::size_t inbox_offset_ = 0;
    std::string pending_;
    bool flushing_ = false;
    bool sink_failed_ = false;
    std::string error_;
};

}  // namespace mgw::grpc
