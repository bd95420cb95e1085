// Unit tests for the TLS keys (config/tls_parser.cpp): listen.tls, admin.tls, upstream_tls and https://
// endpoints, with certificates made by the openssl CLI in a temporary directory; and the gateway's
// contexts built from them (gateway/tls_context.cpp).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "gateway/tls_context.hpp"

using namespace slipway::config;
using Catch::Matchers::Contains;

namespace {

// A CA, a server certificate and key for 127.0.0.1 signed by it, and a second key that belongs to nothing.
struct TestPki {
  std::filesystem::path dir;
  TestPki() {
    dir = std::filesystem::temp_directory_path() / ("slipway-tls-unit-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string d = dir.string();
    const std::string cmd =
        "cd '" + d + "' && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca && "
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 && "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 && "
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.key && "
        "printf 'not a certificate\\n' > garbage.pem";
    if (std::system(("(" + cmd + ") >/dev/null 2>&1").c_str()) != 0) FAIL("openssl could not make the test certificates");
  }
  ~TestPki() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

const TestPki& pki() {
  static TestPki p;
  return p;
}

ParseResult parse(const std::string& yaml) { return parse_config(yaml, "test.yaml"); }

std::vector<std::string> errors(const std::string& yaml) {
  std::vector<std::string> out;
  for (const auto& e : parse(yaml).errors) out.push_back(e.to_string());
  return out;
}

const std::string kModels = "models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"]}\n";

// Line 1 is the listener; its tls mapping is inline.
std::string listen_tls(const std::string& tls) { return "listen: {port: 0, tls: " + tls + "}\n" + kModels; }

}  // namespace

TEST_CASE("config tls: listen.tls reads and checks the certificate and key", "[config][tls]") {
  auto r = parse(listen_tls("{cert_file: " + pki().file("server.crt") + ", key_file: " + pki().file("server.key") +
                            ", handshake_timeout: 3s}"));
  REQUIRE(r.errors.empty());
  REQUIRE(r.config->listen.tls);
  const auto& tls = *r.config->listen.tls;
  CHECK(tls.cert_file == pki().file("server.crt"));
  CHECK_THAT(tls.cert_pem, Contains("BEGIN CERTIFICATE"));
  CHECK_THAT(tls.key_pem, Contains("PRIVATE KEY"));
  CHECK(tls.handshake_timeout == std::chrono::seconds(3));

  auto plain = parse(kModels);
  REQUIRE(plain.errors.empty());
  CHECK_FALSE(plain.config->listen.tls);

  auto dflt = parse(listen_tls("{cert_file: " + pki().file("server.crt") + ", key_file: " + pki().file("server.key") + "}"));
  REQUIRE(dflt.errors.empty());
  CHECK(dflt.config->listen.tls->handshake_timeout == std::chrono::seconds(10));
}

TEST_CASE("config tls: a bad listener certificate or key is an error naming the key", "[config][tls]") {
  const std::string crt = pki().file("server.crt"), key = pki().file("server.key");
  CHECK(errors(listen_tls("{cert_file: " + crt + "}")) ==
        std::vector<std::string>{"listen.tls.key_file: required (a PEM file: the private key) (line 1)"});
  CHECK(errors(listen_tls("{cert_file: /nonexistent/x.crt, key_file: " + key + "}")) ==
        std::vector<std::string>{
            "listen.tls.cert_file: cannot read \"/nonexistent/x.crt\": No such file or directory (line 1)"});

  auto e = errors(listen_tls("{cert_file: " + pki().file("garbage.pem") + ", key_file: " + key + "}"));
  REQUIRE(e.size() == 1);
  CHECK_THAT(e[0], Contains("listen.tls.cert_file: \"" + pki().file("garbage.pem") + "\" holds no PEM certificate"));

  e = errors(listen_tls("{cert_file: " + crt + ", key_file: " + pki().file("garbage.pem") + "}"));
  REQUIRE(e.size() == 1);
  CHECK_THAT(e[0], Contains("listen.tls.key_file: \"" + pki().file("garbage.pem") + "\" holds no PEM private key"));

  e = errors(listen_tls("{cert_file: " + crt + ", key_file: " + pki().file("other.key") + "}"));
  REQUIRE(e.size() == 1);
  CHECK(e[0] == "listen.tls.key_file: \"" + pki().file("other.key") + "\" is not the private key of the certificate in \"" +
                    crt + "\" (line 1)");

  e = errors(listen_tls("{cert_file: " + crt + ", key_file: " + key + ", handshake_timout: 1s}"));
  REQUIRE(e.size() == 1);
  CHECK_THAT(e[0], Contains("unknown key \"handshake_timout\"") && Contains("did you mean \"handshake_timeout\""));

  e = errors(listen_tls("null"));
  REQUIRE(e.size() == 1);
  CHECK_THAT(e[0], Contains("listen.tls"));
}

TEST_CASE("config tls: admin.tls is read like listen.tls", "[config][tls]") {
  auto r = parse(kModels + "admin: {port: 0, tls: {cert_file: " + pki().file("server.crt") +
                 ", key_file: " + pki().file("server.key") + "}}\n");
  REQUIRE(r.errors.empty());
  REQUIRE(r.config->admin);
  REQUIRE(r.config->admin->tls);
  CHECK_THAT(r.config->admin->tls->cert_pem, Contains("BEGIN CERTIFICATE"));

  auto e = errors(kModels + "admin: {port: 0, tls: {cert_file: " + pki().file("server.crt") + ", key_file: /nope}}\n");
  REQUIRE(e.size() == 1);
  CHECK_THAT(e[0], Contains("admin.tls.key_file: cannot read \"/nope\"") && Contains("(line 4)"));
}

TEST_CASE("config tls: https:// endpoints and upstream_tls", "[config][tls]") {
  auto r = parse("models:\n  - name: m\n    baseline: {endpoints: [\"https://10.0.0.5:8443\", \"http://10.0.0.6:8000\"]}\n"
                 "upstream_tls: {ca_file: " + pki().file("ca.crt") + "}\n");
  REQUIRE(r.errors.empty());
  const auto& eps = r.config->models[0].baseline.endpoints;
  REQUIRE(eps.size() == 2);
  CHECK(eps[0].tls);
  CHECK(eps[0].label() == "https://10.0.0.5:8443");
  CHECK(eps[0].authority() == "10.0.0.5:8443");
  CHECK_FALSE(eps[1].tls);
  CHECK(eps[1].label() == "10.0.0.6:8000");
  CHECK(r.config->upstream_tls.ca_file == pki().file("ca.crt"));
  CHECK_THAT(r.config->upstream_tls.ca_pem, Contains("BEGIN CERTIFICATE"));
  CHECK_FALSE(r.config->upstream_tls.insecure_skip_verify);

  auto dflt = parse("models:\n  - name: m\n    baseline: {endpoints: [\"https://b:1\"]}\n");
  REQUIRE(dflt.errors.empty());
  CHECK(dflt.config->upstream_tls.ca_file.empty());  // the system's trust store

  auto insecure = parse(kModels + "upstream_tls: {insecure_skip_verify: true}\n");
  REQUIRE(insecure.errors.empty());
  CHECK(insecure.config->upstream_tls.insecure_skip_verify);

  CHECK(errors(kModels + "upstream_tls: {ca_file: " + pki().file("garbage.pem") + "}\n").at(0) ==
        "upstream_tls.ca_file: \"" + pki().file("garbage.pem") + "\" holds no PEM certificate (no start line) (line 4)");
  CHECK_THAT(errors(kModels + "upstream_tls: {ca_file: /nonexistent/ca.pem}\n").at(0),
             Contains("upstream_tls.ca_file: cannot read \"/nonexistent/ca.pem\""));
  CHECK_THAT(errors(kModels + "upstream_tls: {insecure_skip_verify: sometimes}\n").at(0),
             Contains("upstream_tls.insecure_skip_verify"));
  CHECK_THAT(errors(kModels + "upstream_tls: {cafile: x}\n").at(0),
             Contains("unknown key \"cafile\"") && Contains("did you mean \"ca_file\""));
}

TEST_CASE("tls contexts: built from the parsed config", "[config][tls]") {
  auto r = parse(listen_tls("{cert_file: " + pki().file("server.crt") + ", key_file: " + pki().file("server.key") + "}") +
                 "upstream_tls: {ca_file: " + pki().file("ca.crt") + "}\n");
  REQUIRE(r.errors.empty());
  std::string error;
  CHECK(slipway::make_server_tls_context(*r.config->listen.tls, error) != nullptr);
  CHECK(error.empty());
  CHECK(slipway::make_client_tls_context(r.config->upstream_tls, error) != nullptr);
  CHECK(error.empty());
  UpstreamTls system_store;
  CHECK(slipway::make_client_tls_context(system_store, error) != nullptr);
}
