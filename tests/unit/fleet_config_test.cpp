// Unit tests for `fleet:` (config/fleet_parser.cpp): the store URL, defaults, and every rule's key path and line.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <string>
#include <vector>

#include "config/config.hpp"

using namespace slipway::config;
using namespace std::chrono_literals;

namespace {

// A valid document; `fleet` starts on line 4.
std::string with_fleet(const std::string& body) {
  return "models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"]}\n" + body;
}

std::vector<std::string> errors_of(const std::string& yaml) {
  ParseResult r = parse_config(yaml, "test.yaml");
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.to_string());
  return out;
}

std::string error_of(const std::string& yaml) {
  auto errs = errors_of(yaml);
  INFO("document:\n" << yaml);
  REQUIRE(errs.size() == 1);
  return errs[0];
}

}  // namespace

TEST_CASE("config fleet: absent means a replica alone", "[config][fleet]") {
  auto r = parse_config(with_fleet(""), "t.yaml");
  REQUIRE(r.errors.empty());
  CHECK_FALSE(r.config->fleet.has_value());
}

TEST_CASE("config fleet: every field is read", "[config][fleet]") {
  auto r = parse_config(with_fleet("fleet:\n  store: redis://10.0.0.7:6380/2\n  key_prefix: gw-prod\n  replica_id: pod-a.1\n"
                                   "  on_store_loss: baseline\n  timeout: 150ms\n  flush_every: 2s\n"),
                        "t.yaml");
  REQUIRE(r.errors.empty());
  const Fleet& f = *r.config->fleet;
  CHECK(f.store == "redis://10.0.0.7:6380/2");
  CHECK(f.host == "10.0.0.7");
  CHECK(f.port == 6380);
  CHECK(f.db == 2);
  CHECK(f.key_prefix == "gw-prod");
  CHECK(f.replica_id == "pod-a.1");
  CHECK(f.on_store_loss == Fleet::OnStoreLoss::baseline);
  CHECK(f.timeout == 150ms);
  CHECK(f.flush_every == 2000ms);
}

TEST_CASE("config fleet: defaults (port 6379, db 0, prefix slipway, replica id = host name, keep)", "[config][fleet]") {
  auto r = parse_config(with_fleet("fleet: {store: \"redis://[::1]\"}\n"), "t.yaml");
  REQUIRE(r.errors.empty());
  const Fleet& f = *r.config->fleet;
  CHECK(f.host == "::1");
  CHECK(f.port == 6379);
  CHECK(f.db == 0);
  CHECK(f.key_prefix == "slipway");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  CHECK(f.replica_id == std::string(host).substr(0, 128));
  CHECK(f.on_store_loss == Fleet::OnStoreLoss::keep);
  CHECK(f.timeout == 200ms);
  CHECK(f.flush_every == 1000ms);
}

TEST_CASE("config fleet: errors name the key and the line", "[config][fleet]") {
  CHECK(error_of(with_fleet("fleet:\n  key_prefix: x\n")) == "fleet.store: required (e.g. redis://127.0.0.1:6379/0) (line 4)");
  CHECK(error_of(with_fleet("fleet:\n  store: http://h:1\n")).starts_with("fleet.store: must be redis://host:port[/db]"));
  CHECK(error_of(with_fleet("fleet:\n  store: redis://h:70000\n")) == "fleet.store: port must be 1..65535, got \"70000\" (line 5)");
  CHECK(error_of(with_fleet("fleet:\n  store: redis://h:1/x\n")) == "fleet.store: database must be a number >= 0, got \"x\" (line 5)");
  CHECK(error_of(with_fleet("fleet:\n  store: redis://:pw@h:1\n")).starts_with("fleet.store: credentials in the URL are not supported"));
  CHECK(error_of(with_fleet("fleet:\n  store: redis://h:1\n  key_prefix: \"a b\"\n")).starts_with("fleet.key_prefix: 1..64 characters"));
  CHECK(error_of(with_fleet("fleet:\n  store: redis://h:1\n  replica_id: \"\"\n")).starts_with("fleet.replica_id: 1..128 characters"));
  CHECK(error_of(with_fleet("fleet:\n  store: redis://h:1\n  on_store_loss: baselin\n")) ==
        "fleet.on_store_loss: must be keep or baseline, got \"baselin\" (did you mean \"baseline\"?) (line 6)");
  CHECK(error_of(with_fleet("fleet:\n  store: redis://h:1\n  timeout: 1h\n")).starts_with("fleet.timeout:"));
  CHECK(error_of(with_fleet("fleet:\n  store: redis://h:1\n  flush: 1s\n")) == "fleet: unknown key \"flush\" (line 6)");
  CHECK(error_of(with_fleet("fleet: redis://h:1\n")).starts_with("fleet:"));
}
