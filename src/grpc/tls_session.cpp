// The session's BIO is one custom BIO_METHOD for both directions: writes go to the sink (or
// behind what is pending, so that the order on the wire is the order of the records), reads
// come from what the shell fed and ask for a retry when it is used up. Renegotiation is off:
// a write never has to wait for the peer.
#include "tls_session.hpp"

#include <algorithm>
#include <climits>
#include <cstring>

#include <openssl/bio.h>
#include <openssl/err.h>

namespace mgw::grpc {

namespace {

tls_session& owner(BIO* bio) {
    return *static_cast<tls_session*>(BIO_get_data(bio));
}

int bio_write(BIO* bio, const char* data, int size) {
    BIO_clear_retry_flags(bio);
    return owner(bio).on_write(data, size);
}

int bio_read(BIO* bio, char* out, int size) {
    BIO_clear_retry_flags(bio);
    const int n = owner(bio).on_read(out, size);
    if (n < 0) {
        BIO_set_retry_read(bio);
    }
    return n;
}

long bio_ctrl(BIO*, int command, long, void*) {
    // OpenSSL flushes after each handshake flight: the records are already with the sink.
    return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

const BIO_METHOD* transport_method() {
    static BIO_METHOD* method = [] {
        BIO_METHOD* m =
            BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mgw grpc transport");
        BIO_meth_set_write(m, &bio_write);
        BIO_meth_set_read(m, &bio_read);
        BIO_meth_set_ctrl(m, &bio_ctrl);
        BIO_meth_set_create(m, &bio_create);
        return m;
    }();
    return method;
}

// OpenSSL's reason for the oldest error queued, as Asio's SSL error category words it.
std::string describe(unsigned long code) {
    const char* reason = ERR_reason_error_string(code);
    if (reason == nullptr) {
        return "TLS error " + std::to_string(code);
    }
    std::string text(reason);
    if (const char* lib = ERR_lib_error_string(code)) {
        text += std::string(" (") + lib + ")";
    }
    return text;
}

}  // namespace

tls_session::tls_session(SSL* ssl, tls_sink* sink) : ssl_(ssl), sink_(sink) {
    BIO* bio = BIO_new(transport_method());
    BIO_set_data(bio, this);
    SSL_set_bio(ssl_, bio, bio);
    SSL_set_options(ssl_, SSL_OP_NO_RENEGOTIATION);
}

tls_session::~tls_session() {
    SSL_free(ssl_);
}

int tls_session::on_write(const char* data, int size) {
    const auto n = static_cast<std::size_t>(size);
    std::size_t sent = 0;
    if (sink_ != nullptr && pending_.empty() && !flushing_) {
        const std::ptrdiff_t r = sink_->send(data, n);
        if (r < 0) {
            sink_failed_ = true;
            return -1;
        }
        sent = static_cast<std::size_t>(r);
    }
    pending_.append(data + sent, n - sent);
    return size;
}

int tls_session::on_read(char* out, int size) {
    const std::size_t available = inbox_.size() - inbox_offset_;
    if (available == 0) {
        return -1;
    }
    const std::size_t n = std::min(available, static_cast<std::size_t>(size));
    std::memcpy(out, inbox_.data() + inbox_offset_, n);
    inbox_offset_ += n;
    if (inbox_offset_ == inbox_.size()) {
        inbox_.clear();
        inbox_offset_ = 0;
    }
    return static_cast<int>(n);
}

void tls_session::feed(std::string_view ciphertext) {
    inbox_.append(ciphertext);
}

tls_session::status tls_session::fail_from(int result) {
    const int code = SSL_get_error(ssl_, result);
    if (code == SSL_ERROR_WANT_READ) {
        return status::want_read;
    }
    if (code == SSL_ERROR_ZERO_RETURN) {
        return status::closed;
    }
    if (sink_failed_) {
        error_ = "the transport failed";
    } else if (const unsigned long first = ERR_peek_error(); first != 0) {
        error_ = describe(first);
    } else {
        error_ = "TLS transport error";
    }
    ERR_clear_error();
    return status::failed;
}

tls_session::status tls_session::handshake() {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_);
    return r == 1 ? status::done : fail_from(r);
}

tls_session::status tls_session::write(std::string_view plaintext) {
    ERR_clear_error();
    while (!plaintext.empty()) {
        const int chunk = static_cast<int>(std::min<std::size_t>(plaintext.size(), INT_MAX));
        const int r = SSL_write(ssl_, plaintext.data(), chunk);
        if (r <= 0) {
            return fail_from(r);
        }
        plaintext.remove_prefix(static_cast<std::size_t>(r));
    }
    return status::done;
}

tls_session::status tls_session::read(char* out, std::size_t capacity, std::size_t& got) {
    got = 0;
    ERR_clear_error();
    const int r = SSL_read(ssl_, out, static_cast<int>(std::min<std::size_t>(capacity, INT_MAX)));
    if (r > 0) {
        got = static_cast<std::size_t>(r);
        return status::done;
    }
    return fail_from(r);
}

void tls_session::shutdown() {
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
}

void tls_session::begin_flush(std::string& into) {
    into.clear();
    into.swap(pending_);
    flushing_ = true;
}

}  // namespace mgw::grpc
