// OpenSSL 3 (EVP) and libsnappy behind the crypto of prometheus-rsocket-proxy.
#include <array>
#include <memory>
#include <utility>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <snappy.h>

#include <mgw/rsocket/crypto.hpp>

namespace mgw::rsocket {

namespace {

struct ctx_deleter {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
    void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
    void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using pkey_ctx = std::unique_ptr<EVP_PKEY_CTX, ctx_deleter>;
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, ctx_deleter>;

const unsigned char* bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* bytes(std::string& s) {
    return reinterpret_cast<unsigned char*>(s.data());
}

// A decryption context for RSA-OAEP with SHA-256 and the given MGF1 hash; null on failure.
pkey_ctx oaep_context(EVP_PKEY* key, const EVP_MD* mgf1) {
    pkey_ctx ctx(EVP_PKEY_CTX_new(key, nullptr));
    if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), mgf1) <= 0) {
        return nullptr;
    }
    return ctx;
}

// A failed decryption leaves the context as it was set up: the next reply uses it again.
bool oaep_unwrap(EVP_PKEY_CTX* ctx, std::string_view wrapped, std::string& out) {
    std::size_t length = 0;
    if (ctx == nullptr ||
        EVP_PKEY_decrypt(ctx, nullptr, &length, bytes(wrapped), wrapped.size()) <= 0) {
        return false;
    }
    out.resize(length);
    if (EVP_PKEY_decrypt(ctx, bytes(out), &length, bytes(wrapped), wrapped.size()) <= 0) {
        return false;
    }
    out.resize(length);
    return true;
}

const EVP_CIPHER* aes_ecb(std::size_t key_bytes) {
    switch (key_bytes) {
        case 16:
            return EVP_aes_128_ecb();
        case 24:
            return EVP_aes_192_ecb();
        case 32:
            return EVP_aes_256_ecb();
        default:
            return nullptr;
    }
}

bool aes_ecb_crypt(bool encrypt, std::string_view key, std::string_view in, std::string& out) {
    const EVP_CIPHER* cipher = aes_ecb(key.size());
    cipher_ctx ctx(EVP_CIPHER_CTX_new());
    if (cipher == nullptr || !ctx ||
        EVP_CipherInit_ex(ctx.get(), cipher, nullptr, bytes(key), nullptr, encrypt ? 1 : 0) <= 0) {
        return false;
    }
    out.resize(in.size() + 16);
    int written = 0;
    int final_bytes = 0;
    if (EVP_CipherUpdate(ctx.get(), bytes(out), &written, bytes(in), static_cast<int>(in.size())) <=
            0 ||
        EVP_CipherFinal_ex(ctx.get(), bytes(out) + written, &final_bytes) <= 0) {
        return false;
    }
    out.resize(static_cast<std::size_t>(written) + static_cast<std::size_t>(final_bytes));
    return true;
}

}  // namespace

void key_pair::deleter::operator()(evp_pkey_st* key) const {
    EVP_PKEY_free(key);
}

std::optional<key_pair> key_pair::generate(int bits) {
    EVP_PKEY* raw = EVP_RSA_gen(static_cast<unsigned int>(bits));
    if (raw == nullptr) {
        return std::nullopt;
    }
    key_pair pair;
    pair.key_ = std::shared_ptr<evp_pkey_st>(raw, deleter{});
    const int length = i2d_PUBKEY(raw, nullptr);
    if (length <= 0) {
        return std::nullopt;
    }
    pair.public_der_.resize(static_cast<std::size_t>(length));
    unsigned char* cursor = bytes(pair.public_der_);
    if (i2d_PUBKEY(raw, &cursor) != length) {
        return std::nullopt;
    }
    return pair;
}

std::size_t key_pair::modulus_bytes() const {
    return static_cast<std::size_t>(EVP_PKEY_get_size(key_.get()));
}

std::string_view to_string(decrypt_error error) {
    switch (error) {
        case decrypt_error::none:
            return "none";
        case decrypt_error::key_unwrap:
            return "key_unwrap";
        case decrypt_error::aes_key_length:
            return "aes_key_length";
        case decrypt_error::aes_padding:
            return "aes_padding";
        case decrypt_error::snappy_invalid:
            return "snappy_invalid";
        case decrypt_error::too_large:
            return "too_large";
    }
    return "unknown";
}

struct reply_decryptor::oaep_contexts {
    pkey_ctx mgf1_sha1;    // what the JDK's own provider uses
    pkey_ctx mgf1_sha256;  // BouncyCastle's choice
};

reply_decryptor::reply_decryptor(key_pair key) : key_(std::move(key)) {}

reply_decryptor::~reply_decryptor() = default;
reply_decryptor::reply_decryptor(reply_decryptor&&) noexcept = default;
reply_decryptor& reply_decryptor::operator=(reply_decryptor&&) noexcept = default;

decrypt_error reply_decryptor::decrypt(std::string_view metadata, std::string_view data,
                                       std::size_t max_text_bytes, std::string& text) {
    if (metadata == plaintext_marker) {
        if (data.size() > max_text_bytes) {
            return decrypt_error::too_large;
        }
        text.assign(data);
        return decrypt_error::none;
    }
    if (!oaep_) {
        oaep_ = std::make_unique<oaep_contexts>();
        oaep_->mgf1_sha1 = oaep_context(key_.native(), EVP_sha1());
        oaep_->mgf1_sha256 = oaep_context(key_.native(), EVP_sha256());
    }
    std::string aes_key;
    if (!oaep_unwrap(oaep_->mgf1_sha1.get(), metadata, aes_key) &&
        !oaep_unwrap(oaep_->mgf1_sha256.get(), metadata, aes_key)) {
        return decrypt_error::key_unwrap;
    }
    if (aes_ecb(aes_key.size()) == nullptr) {
        return decrypt_error::aes_key_length;
    }
    std::string compressed;
    if (data.size() % 16 != 0 || !aes_ecb_crypt(false, aes_key, data, compressed)) {
        return decrypt_error::aes_padding;
    }
    // The length header is attacker-controlled: check it before Snappy allocates for it.
    std::size_t length = 0;
    if (!snappy::GetUncompressedLength(compressed.data(), compressed.size(), &length)) {
        return decrypt_error::snappy_invalid;
    }
    if (length > max_text_bytes) {
        return decrypt_error::too_large;
    }
    text.clear();
    if (!snappy::Uncompress(compressed.data(), compressed.size(), &text)) {
        return decrypt_error::snappy_invalid;
    }
    return decrypt_error::none;
}

decrypt_error decrypt_reply(const key_pair& key, std::string_view metadata, std::string_view data,
                            std::size_t max_text_bytes, std::string& text) {
    return reply_decryptor(key).decrypt(metadata, data, max_text_bytes, text);
}

std::optional<encrypted_reply> encrypt_like_java_client(std::string_view public_key_der,
                                                        std::string_view text, bool mgf1_sha1) {
    const unsigned char* cursor = bytes(public_key_der);
    std::unique_ptr<EVP_PKEY, ctx_deleter> key(
        d2i_PUBKEY(nullptr, &cursor, static_cast<long>(public_key_der.size())));
    if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
        return std::nullopt;
    }
    std::string compressed;
    snappy::Compress(text.data(), text.size(), &compressed);
    std::string aes_key(16, '\0');
    if (RAND_bytes(bytes(aes_key), 16) != 1) {
        return std::nullopt;
    }
    encrypted_reply reply;
    if (!aes_ecb_crypt(true, aes_key, compressed, reply.data)) {
        return std::nullopt;
    }
    pkey_ctx ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
    std::size_t length = 0;
    if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), mgf1_sha1 ? EVP_sha1() : EVP_sha256()) <= 0 ||
        EVP_PKEY_encrypt(ctx.get(), nullptr, &length, bytes(aes_key), aes_key.size()) <= 0) {
        return std::nullopt;
    }
    reply.metadata.resize(length);
    if (EVP_PKEY_encrypt(ctx.get(), bytes(reply.metadata), &length, bytes(aes_key),
                         aes_key.size()) <= 0) {
        return std::nullopt;
    }
    reply.metadata.resize(length);
    return reply;
}

}  // namespace mgw::rsocket
