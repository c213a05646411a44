// RSocket module: the payload crypto of prometheus-rsocket-proxy. A fresh RSA key pair per
// connection; replies carry an AES key wrapped with RSA-OAEP and AES-ECB ciphertext of Snappy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct evp_pkey_st;

namespace mgw::rsocket {

// An RSA key pair and the public key as X.509 SubjectPublicKeyInfo DER, the bytes Java's
// PublicKey.getEncoded() gives and the client decodes.
class key_pair {
  public:
    // nullopt when OpenSSL fails (out of memory, no entropy). Costs tens of milliseconds of CPU
    // for 2048 bits: callers run it off the I/O threads.
    static std::optional<key_pair> generate(int bits);

    const std::string& public_key_der() const { return public_der_; }
    std::size_t modulus_bytes() const;
    evp_pkey_st* native() const { return key_.get(); }

  private:
    struct deleter {
        void operator()(evp_pkey_st* key) const;
    };
    std::shared_ptr<evp_pkey_st> key_;
    std::string public_der_;
};

enum class decrypt_error : std::uint8_t {
    none,
    key_unwrap,      // RSA-OAEP failed with both MGF1 hashes: wrong key or not OAEP
    aes_key_length,  // the unwrapped key is not 16, 24 or 32 bytes
    aes_padding,     // ciphertext not a multiple of 16 bytes, or bad PKCS#7 padding
    snappy_invalid,  // not a raw Snappy block
    too_large,       // the Snappy header announces more than the allowed size
};

std::string_view to_string(decrypt_error error);

// The ASCII bytes a client puts in the metadata of an unencrypted reply (and a proxy in the
// request data to ask for one).
inline constexpr std::string_view plaintext_marker = "plaintext";

// Decrypts the scrape replies of one connection exactly as prometheus-rsocket-client encrypts
// them: metadata = RSA-OAEP(SHA-256, MGF1-SHA-1, empty label) of the AES key, falling back to
// MGF1-SHA-256 (a client whose first JCE provider is BouncyCastle); data = AES-ECB/PKCS#7 of the
// raw Snappy block of the UTF-8 text. Metadata equal to plaintext_marker means `data` is the
// text itself. The uncompressed length is checked against `max_text_bytes` before anything is
// allocated.
// The RSA-OAEP contexts are set up at the first reply and kept: OpenSSL 3 spends about 16 µs
// fetching the algorithms for each new context, 6 % of an unwrap, and a pull of 1,000 clients
// unwraps 1,000 keys. Not thread-safe: one connection (its strand) uses it.
class reply_decryptor {
  public:
    explicit reply_decryptor(key_pair key);
    ~reply_decryptor();
    reply_decryptor(reply_decryptor&&) noexcept;
    reply_decryptor& operator=(reply_decryptor&&) noexcept;

    const key_pair& key() const { return key_; }

    decrypt_error decrypt(std::string_view metadata, std::string_view data,
                          std::size_t max_text_bytes, std::string& text);

  private:
    struct oaep_contexts;
    key_pair key_;
    std::unique_ptr<oaep_contexts> oaep_;  // made by the first encrypted reply
};

// One reply with a decryptor of its own (tests, benchmarks).
decrypt_error decrypt_reply(const key_pair& key, std::string_view metadata, std::string_view data,
                            std::size_t max_text_bytes, std::string& text);

struct encrypted_reply {
    std::string metadata;  // the wrapped AES key
    std::string data;      // AES ciphertext of the Snappy block
};

// What the Java client does with a key received from the proxy (for the bench's load client
// and the tests): nullopt when the DER is not an RSA public key. `mgf1_sha1` false gives the
// MGF1-SHA-256 variant.
std::optional<encrypted_reply> encrypt_like_java_client(std::string_view public_key_der,
                                                        std::string_view text,
                                                        bool mgf1_sha1 = true);

}  // namespace mgw::rsocket
