// Unit tests: replies encrypted here with OpenSSL the way prometheus-rsocket-client does it
// (snappy raw block, AES/ECB/PKCS5Padding, RSA/ECB/OAEPWithSHA-256AndMGF1Padding with SunJCE's
// MGF1-SHA-1), decrypted by decrypt_reply and by one connection's reply_decryptor; and every
// way a reply can be wrong.
#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <snappy.h>

#include <mgw/rsocket/crypto.hpp>

using namespace mgw::rsocket;

namespace {

const unsigned char* u(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

// RSA-OAEP(SHA-256 label hash, MGF1 with `mgf1`) of `secret` under the SPKI DER key.
std::string oaep_wrap(std::string_view der, std::string_view secret, const EVP_MD* mgf1) {
    const unsigned char* cursor = u(der);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())), &EVP_PKEY_free);
    REQUIRE(key);
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new(key.get(), nullptr), &EVP_PKEY_CTX_free);
    REQUIRE(EVP_PKEY_encrypt_init(ctx.get()) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), mgf1) == 1);
    std::size_t length = 0;
    REQUIRE(EVP_PKEY_encrypt(ctx.get(), nullptr, &length, u(secret), secret.size()) == 1);
    std::string out(length, '\0');
    REQUIRE(EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length,
                             u(secret), secret.size()) == 1);
    out.resize(length);
    return out;
}

// AES-128-ECB; `pad` false leaves the padding to the caller (for broken-padding cases).
std::string aes_ecb(std::string_view key, std::string_view plain, bool pad) {
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                        &EVP_CIPHER_CTX_free);
    REQUIRE(EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ecb(), nullptr, u(key), nullptr) == 1);
    EVP_CIPHER_CTX_set_padding(ctx.get(), pad ? 1 : 0);
    std::string out(plain.size() + 16, '\0');
    int n = 0;
    int m = 0;
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    REQUIRE(EVP_EncryptUpdate(ctx.get(), o, &n, u(plain), static_cast<int>(plain.size())) == 1);
    REQUIRE(EVP_EncryptFinal_ex(ctx.get(), o + n, &m) == 1);
    out.resize(static_cast<std::size_t>(n) + static_cast<std::size_t>(m));
    return out;
}

std::string snappy_block(std::string_view text) {
    std::string out;
    snappy::Compress(text.data(), text.size(), &out);
    return out;
}

constexpr std::string_view aes_key = "0123456789abcdef";
constexpr std::string_view text =
    "# HELP jvm_threads_live_threads The current number of live threads\n"
    "# TYPE jvm_threads_live_threads gauge\n"
    "jvm_threads_live_threads 42.0\n";

const key_pair& test_key() {
    static const key_pair key = *key_pair::generate(2048);
    return key;
}

}  // namespace

TEST_CASE("a 2048-bit key pair exports the 294-byte SPKI DER Java's getEncoded() gives") {
    const key_pair& key = test_key();
    CHECK(key.public_key_der().size() == 294);
    CHECK(key.modulus_bytes() == 256);
    // SEQUENCE { SEQUENCE { rsaEncryption OID, NULL }, BIT STRING }.
    CHECK(key.public_key_der().substr(0, 4) == std::string("\x30\x82\x01\x22", 4));
    const auto other = key_pair::generate(2048);
    REQUIRE(other);
    CHECK(other->public_key_der() != key.public_key_der());
}

TEST_CASE("a Java-client reply (MGF1-SHA-1) decrypts to the text") {
    const key_pair& key = test_key();
    const std::string metadata = oaep_wrap(key.public_key_der(), aes_key, EVP_sha1());
    CHECK(metadata.size() == 256);
    const std::string data = aes_ecb(aes_key, snappy_block(text), true);
    std::string out;
    REQUIRE(decrypt_reply(key, metadata, data, 1 << 20, out) == decrypt_error::none);
    CHECK(out == text);
}

TEST_CASE("a BouncyCastle-style reply (MGF1-SHA-256) decrypts through the fallback") {
    const key_pair& key = test_key();
    const std::string metadata = oaep_wrap(key.public_key_der(), aes_key, EVP_sha256());
    const std::string data = aes_ecb(aes_key, snappy_block(text), true);
    std::string out;
    REQUIRE(decrypt_reply(key, metadata, data, 1 << 20, out) == decrypt_error::none);
    CHECK(out == text);
}

TEST_CASE("encrypt_like_java_client round-trips with both MGF1 hashes") {
    const key_pair& key = test_key();
    for (const bool sha1 : {true, false}) {
        const auto reply = encrypt_like_java_client(key.public_key_der(), text, sha1);
        REQUIRE(reply);
        CHECK(reply->data.size() % 16 == 0);
        std::string out;
        REQUIRE(decrypt_reply(key, reply->metadata, reply->data, 1 << 20, out) ==
                decrypt_error::none);
        CHECK(out == text);
    }
    CHECK_FALSE(encrypt_like_java_client("not a key", text));
}

TEST_CASE("one connection's decryptor opens reply after reply, whatever failed before") {
    // The RSA-OAEP contexts are made once and reused: a failed unwrap (another key's reply, a
    // truncated one) or the MGF1-SHA-256 fallback leaves them fit for the next reply.
    const key_pair& key = test_key();
    const auto other = key_pair::generate(2048);
    REQUIRE(other);
    reply_decryptor decryptor(key);
    const std::string data = aes_ecb(aes_key, snappy_block(text), true);
    const std::string sha1 = oaep_wrap(key.public_key_der(), aes_key, EVP_sha1());
    const std::string sha256 = oaep_wrap(key.public_key_der(), aes_key, EVP_sha256());
    const std::string foreign = oaep_wrap(other->public_key_der(), aes_key, EVP_sha1());
    struct step {
        const std::string* metadata;
        decrypt_error expected;
    };
    const std::string truncated = sha1.substr(0, 100);
    for (const step& s :
         {step{&sha1, decrypt_error::none}, step{&foreign, decrypt_error::key_unwrap},
          step{&sha256, decrypt_error::none}, step{&truncated, decrypt_error::key_unwrap},
          step{&sha1, decrypt_error::none}, step{&sha256, decrypt_error::none}}) {
        std::string out;
        REQUIRE(decryptor.decrypt(*s.metadata, data, 1 << 20, out) == s.expected);
        if (s.expected == decrypt_error::none) {
            CHECK(out == text);
        }
    }
    // Moved with its connection, it keeps working.
    reply_decryptor moved = std::move(decryptor);
    std::string out;
    REQUIRE(moved.decrypt(sha1, data, 1 << 20, out) == decrypt_error::none);
    CHECK(out == text);
    CHECK(moved.key().public_key_der() == key.public_key_der());
}

TEST_CASE("the plaintext variant passes the text through, bounded") {
    std::string out;
    CHECK(decrypt_reply(test_key(), "plaintext", text, 1 << 20, out) == decrypt_error::none);
    CHECK(out == text);
    CHECK(decrypt_reply(test_key(), "plaintext", text, 10, out) == decrypt_error::too_large);
}

TEST_CASE("a reply for another connection's key fails the unwrap") {
    const auto other = key_pair::generate(2048);
    REQUIRE(other);
    const std::string metadata = oaep_wrap(other->public_key_der(), aes_key, EVP_sha1());
    const std::string data = aes_ecb(aes_key, snappy_block(text), true);
    std::string out;
    CHECK(decrypt_reply(test_key(), metadata, data, 1 << 20, out) == decrypt_error::key_unwrap);
    CHECK(decrypt_reply(test_key(), "", data, 1 << 20, out) == decrypt_error::key_unwrap);
    CHECK(decrypt_reply(test_key(), std::string(256, 'x'), data, 1 << 20, out) ==
          decrypt_error::key_unwrap);
}

TEST_CASE("an unwrapped key of a length AES does not have is refused") {
    const std::string metadata = oaep_wrap(test_key().public_key_der(), "short", EVP_sha1());
    std::string out;
    CHECK(decrypt_reply(test_key(), metadata, std::string(16, 'x'), 1 << 20, out) ==
          decrypt_error::aes_key_length);
}

TEST_CASE("bad PKCS#7 padding and ragged ciphertext are refused") {
    const std::string metadata = oaep_wrap(test_key().public_key_der(), aes_key, EVP_sha1());
    std::string out;
    // A last block ending in 0x00 can never be valid padding.
    const std::string zero_padded = aes_ecb(aes_key, std::string(16, '\0'), false);
    CHECK(decrypt_reply(test_key(), metadata, zero_padded, 1 << 20, out) ==
          decrypt_error::aes_padding);
    // Padding bytes that disagree: ... 0x02 0x03.
    std::string block(14, 'a');
    block += "\x02\x03";
    CHECK(decrypt_reply(test_key(), metadata, aes_ecb(aes_key, block, false), 1 << 20, out) ==
          decrypt_error::aes_padding);
    const std::string good = aes_ecb(aes_key, snappy_block(text), true);
    CHECK(decrypt_reply(test_key(), metadata, good.substr(0, good.size() - 1), 1 << 20, out) ==
          decrypt_error::aes_padding);
    CHECK(decrypt_reply(test_key(), metadata, "", 1 << 20, out) == decrypt_error::aes_padding);
}

TEST_CASE("a snappy bomb is refused before anything is allocated for it") {
    const std::string metadata = oaep_wrap(test_key().public_key_der(), aes_key, EVP_sha1());
    std::string out;
    // A block that announces 4 GiB - 1 (varint ff ff ff ff 0f) and holds nothing.
    const std::string liar("\xff\xff\xff\xff\x0f", 5);
    CHECK(decrypt_reply(test_key(), metadata, aes_ecb(aes_key, liar, true), 1 << 20, out) ==
          decrypt_error::too_large);
    // A real one: 8 MiB of zeros compress to a few hundred KiB.
    const std::string zeros = snappy_block(std::string(8 << 20, '\0'));
    CHECK(zeros.size() < (1 << 20));
    CHECK(decrypt_reply(test_key(), metadata, aes_ecb(aes_key, zeros, true), 1 << 20, out) ==
          decrypt_error::too_large);
    CHECK(out.empty());
}

TEST_CASE("data that is not a Snappy block is refused") {
    const std::string metadata = oaep_wrap(test_key().public_key_der(), aes_key, EVP_sha1());
    std::string out;
    // Announces 10 bytes, then a copy referring before the start of the output.
    const std::string broken("\x0a\x05\x01", 3);
    CHECK(decrypt_reply(test_key(), metadata, aes_ecb(aes_key, broken, true), 1 << 20, out) ==
          decrypt_error::snappy_invalid);
    // Uncompressed text is not Snappy (gzip between client and proxy was dropped in 2019).
    CHECK(decrypt_reply(test_key(), metadata, aes_ecb(aes_key, "\x80", true), 1 << 20, out) ==
          decrypt_error::snappy_invalid);
}
