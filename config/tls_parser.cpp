#include "config/tls_parser.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace slipway::config::detail {

namespace {

constexpr long long kMaxDurationMs = 24LL * 3'600'000;
constexpr std::size_t kMaxPemBytes = 1 << 20;  // a certificate chain or a CA bundle; more is not a PEM file

// The whole file, or nullopt after calling fail(why).
template <class Fail>
std::optional<std::string> read_pem_file(const std::string& file, Fail&& fail) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (!f) {
    fail("cannot read \"" + file + "\": " + std::strerror(errno));
    return std::nullopt;
  }
  std::string text;
  char buf[16384];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxPemBytes) {
      std::fclose(f);
      fail("\"" + file + "\" is larger than 1MiB; expected a PEM file");
      return std::nullopt;
    }
  }
  const bool failed = std::ferror(f);
  const int err = errno;
  std::fclose(f);
  if (failed) {
    fail("cannot read \"" + file + "\": " + std::strerror(err));
    return std::nullopt;
  }
  return text;
}

// OpenSSL's reason for the last failure ("no start line", "bad base64 decode"), clearing its error queue.
std::string openssl_reason() {
  unsigned long e = ERR_peek_last_error();
  const char* why = e ? ERR_reason_error_string(e) : nullptr;
  ERR_clear_error();
  return why ? why : "not PEM";
}

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };
struct KeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
using Bio = std::unique_ptr<BIO, BioFree>;

Bio memory_bio(const std::string& pem) { return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

// Number of certificates in a PEM text; sets `why` when the first one cannot be read.
int count_certificates(const std::string& pem, std::string& why) {
  Bio bio = memory_bio(pem);
  int n = 0;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_free(x);
    ++n;
  }
  if (n == 0) why = openssl_reason();
  ERR_clear_error();  // the read past the last certificate always "fails"
  return n;
}

}  // namespace

void parse_server_tls(Reader& r, const YAML::Node& n, const std::string& path, std::optional<ServerTls>& out) {
  if (!r.check_map(n, path, {"cert_file", "key_file", "handshake_timeout"}, /*null_ok=*/false)) return;
  ServerTls tls;
  bool ok = true;
  auto file = [&](std::string_view key, std::string& name, std::string& pem) {
    auto v = r.child(n, key);
    const std::string p = join_key(path, key);
    if (!v) {
      r.error(p, n, std::string("required (a PEM file: ") +
                        (key == "cert_file" ? "the certificate, then its intermediates)" : "the private key)"));
      ok = false;
      return;
    }
    if (!r.read_string(*v, p, name)) {
      ok = false;
      return;
    }
    if (name.empty()) {
      r.error(p, *v, "must name a PEM file");
      ok = false;
      return;
    }
    auto text = read_pem_file(name, [&](const std::string& why) { r.error(p, *v, why); });
    if (!text) ok = false;
    else pem = std::move(*text);
  };
  file("cert_file", tls.cert_file, tls.cert_pem);
  file("key_file", tls.key_file, tls.key_pem);
  r.field(n, "handshake_timeout", path, [&](const YAML::Node& v, const std::string& p) {
    if (!r.read_duration(v, p, 1, kMaxDurationMs, tls.handshake_timeout)) ok = false;
  });
  if (!ok) return;

  // The certificate and the key must load and belong together: a mismatch would only show at the first handshake.
  std::string why;
  Bio cert_bio = memory_bio(tls.cert_pem);
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    r.error(join_key(path, "cert_file"), r.child(n, "cert_file").value(),
            "\"" + tls.cert_file + "\" holds no PEM certificate (" + openssl_reason() + ")");
    return;
  }
  Bio key_bio = memory_bio(tls.key_pem);
  std::unique_ptr<EVP_PKEY, KeyFree> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    r.error(join_key(path, "key_file"), r.child(n, "key_file").value(),
            "\"" + tls.key_file + "\" holds no PEM private key (" + openssl_reason() +
                "; an encrypted key is not supported)");
    return;
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    r.error(join_key(path, "key_file"), r.child(n, "key_file").value(),
            "\"" + tls.key_file + "\" is not the private key of the certificate in \"" + tls.cert_file + "\"");
    return;
  }
  out = std::move(tls);
}

void parse_upstream_tls(Reader& r, const YAML::Node& n, const std::string& path, UpstreamTls& out) {
  if (!r.check_map(n, path, {"ca_file", "insecure_skip_verify"})) return;
  r.field(n, "insecure_skip_verify", path,
          [&](const YAML::Node& v, const std::string& p) { r.read_bool(v, p, out.insecure_skip_verify); });
  r.field(n, "ca_file", path, [&](const YAML::Node& v, const std::string& p) {
    std::string name;
    if (!r.read_string(v, p, name)) return;
    if (name.empty()) {
      r.error(p, v, "must name a PEM file of CA certificates (leave it out to use the system's trust store)");
      return;
    }
    auto text = read_pem_file(name, [&](const std::string& why) { r.error(p, v, why); });
    if (!text) return;
    std::string why;
    if (count_certificates(*text, why) == 0) {
      r.error(p, v, "\"" + name + "\" holds no PEM certificate (" + why + ")");
      return;
    }
    out.ca_file = name;
    out.ca_pem = std::move(*text);
  });
}

}  // namespace slipway::config::detail
