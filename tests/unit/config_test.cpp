// Unit tests for the config loader (config/): examples, defaults, value forms, and every error message.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.hpp"

#ifndef SLIPWAY_SOURCE_DIR
#define SLIPWAY_SOURCE_DIR "."
#endif

using namespace slipway::config;
using namespace std::chrono_literals;

namespace {

const std::string kExamples = std::string(SLIPWAY_SOURCE_DIR) + "/config/examples/";

// Test documents are written as R"(\n...)": drop the first newline so line 1 is the first line shown.
std::string doc(std::string_view text) {
  if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
  return std::string(text);
}

std::vector<std::string> errors_of(std::string_view yaml) {
  ParseResult r = parse_config(doc(yaml), "test.yaml");
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.to_string());
  if (!r.errors.empty()) CHECK(r.config == nullptr);
  return out;
}

// The single error a document produces.
std::string error_of(std::string_view yaml) {
  auto errs = errors_of(yaml);
  INFO("document:\n" << doc(yaml));
  REQUIRE(errs.size() == 1);
  return errs[0];
}

std::shared_ptr<const Config> ok(std::string_view yaml) {
  ParseResult r = parse_config(doc(yaml), "test.yaml");
  std::string all;
  for (const auto& e : r.errors) all += e.to_string() + "\n";
  INFO("errors:\n" << all);
  REQUIRE(r.errors.empty());
  REQUIRE(r.config != nullptr);
  return r.config;
}

// A valid document with one extra top-level section (the models block follows it).
std::string with(std::string_view section) {
  return std::string(section) + "\nmodels:\n  - name: m\n    baseline: {endpoints: [\"h:1\"]}\n";
}

struct EnvVar {
  std::string name;
  EnvVar(std::string n, const char* value) : name(std::move(n)) {
    if (value) ::setenv(name.c_str(), value, 1);
    else ::unsetenv(name.c_str());
  }
  ~EnvVar() { ::unsetenv(name.c_str()); }
};

Config settings_only(Config c) {
  c.source.clear();
  c.generation = 0;
  return c;
}

}  // namespace

TEST_CASE("config: every example file parses", "[config]") {
  EnvVar a("VLLM_API_KEY", "key-a"), b("VLLM_CODER_API_KEY", "key-b");
  for (const char* name : {"demo.yaml", "minimal.yaml", "production.yaml", "rollout.yaml"}) {
    const std::string path = kExamples + name;
    ParseResult r = load_config_file(path);
    std::string all;
    for (const auto& e : r.errors) all += e.to_string() + "\n";
    INFO(path << "\n" << all);
    REQUIRE(r.errors.empty());
    REQUIRE(r.config);
    CHECK(r.config->source == path);
    CHECK(r.config->generation == 0);
    CHECK(!r.config->models.empty());
  }
}

TEST_CASE("config: production example reads keys from the environment", "[config]") {
  EnvVar a("VLLM_API_KEY", "key-a"), b("VLLM_CODER_API_KEY", "key-b");
  ParseResult r = load_config_file(kExamples + "production.yaml");
  REQUIRE(r.config);
  const Config& c = *r.config;
  REQUIRE(c.models.size() == 2);
  CHECK(c.models[0].baseline.api_key == "key-a");
  CHECK(c.models[0].baseline.endpoints.size() == 4);
  CHECK(c.models[1].baseline.api_key == "key-b");
  REQUIRE(c.models[1].canary);
  CHECK(c.models[1].canary->weight_percent == Approx(0.5));
  CHECK(c.routes.size() == 4);
  CHECK(c.validation.on_invalid == OnInvalid::fallback);
  CHECK(!c.routes[3].pin_baseline);
  CHECK(c.limits.max_body_bytes == 8u * 1024 * 1024);
  CHECK(c.timeouts.total == 15min);
}

TEST_CASE("config: the production example fails cleanly without its environment", "[config]") {
  EnvVar a("VLLM_API_KEY", nullptr), b("VLLM_CODER_API_KEY", nullptr);
  ParseResult r = load_config_file(kExamples + "production.yaml");
  CHECK(!r.config);
  REQUIRE(r.errors.size() == 4);  // two models x (baseline, canary)
  CHECK(r.errors[0].path == "models[0].baseline.api_key_env");
  CHECK(r.errors[0].message == "environment variable \"VLLM_API_KEY\" is not set");
}

TEST_CASE("config: the embedded default is the demo example", "[config]") {
  ParseResult embedded = parse_config(embedded_default_config(), "<embedded>");
  ParseResult file = load_config_file(kExamples + "demo.yaml");
  REQUIRE(embedded.config);
  REQUIRE(file.config);
  CHECK(embedded.config->source == "<embedded>");
  CHECK(settings_only(*embedded.config) == settings_only(*file.config));

  const Config& c = *embedded.config;
  CHECK(c.listen.address == "127.0.0.1");
  CHECK(c.listen.port == 8080);
  REQUIRE(c.models.size() == 1);
  const Model& m = c.models[0];
  CHECK(m.name == "demo");
  CHECK(m.baseline.served_model == "demo-fp16");
  REQUIRE(m.baseline.endpoints.size() == 1);
  CHECK(m.baseline.endpoints[0].label() == "127.0.0.1:8001");
  REQUIRE(m.canary);
  CHECK(m.canary->served_model == "demo-int4");
  REQUIRE(m.canary->endpoints.size() == 1);
  CHECK(m.canary->endpoints[0].label() == "127.0.0.1:8002");
  CHECK(m.canary->weight_percent == 20.0);
  REQUIRE(c.routes.size() == 1);
  CHECK(c.routes[0].name == "high-stakes");
  REQUIRE(c.routes[0].header);
  CHECK(c.routes[0].header->name == "x-slipway-tier");
  CHECK(c.routes[0].header->values == std::vector<std::string>{"high-stakes"});
  CHECK(c.routes[0].pin_baseline);
  CHECK(c.find_model("demo") == &c.models[0]);
  CHECK(c.find_model("nope") == nullptr);
}

TEST_CASE("config: defaults are applied to a minimal file", "[config]") {
  auto c = ok(R"(
models:
  - name: m
    baseline:
      endpoints: ["10.0.0.5:8000"]
)");
  const Config defaults;
  CHECK(c->listen == defaults.listen);
  CHECK(c->listen.address == "0.0.0.0");
  CHECK(c->listen.port == 8080);
  CHECK(c->threads == 0);
  CHECK(c->limits == defaults.limits);
  CHECK(c->limits.max_body_bytes == 4u * 1024 * 1024);
  CHECK(c->limits.read_timeout == 10s);
  CHECK(c->timeouts == defaults.timeouts);
  CHECK(c->timeouts.total == 10min);
  CHECK(c->health == defaults.health);
  CHECK(c->health.check_path == "/health");
  CHECK(c->sticky_header == "x-slipway-user");
  CHECK(c->variant_header == "x-slipway-variant");
  CHECK(c->passthrough_v1);
  CHECK(c->log_level == "info");
  CHECK(c->routes.empty());
  CHECK(c->source == "test.yaml");
  CHECK(c->generation == 0);
  REQUIRE(c->models.size() == 1);
  CHECK(c->models[0].baseline.served_model == "m");  // defaults to the model's name
  CHECK(!c->models[0].baseline.api_key);
  CHECK(!c->models[0].canary);
  CHECK(c->models[0].baseline.endpoints[0].host == "10.0.0.5");
  CHECK(c->models[0].baseline.endpoints[0].port == 8000);
}

TEST_CASE("config: every top-level key is read", "[config]") {
  auto c = ok(R"(
listen: {address: 127.0.0.1, port: 0}
threads: 4
limits: {max_header_bytes: 8KiB, max_body_bytes: 1MiB, max_response_bytes: 2MiB, max_json_depth: 32,
         read_timeout: 5s, idle_timeout: 2m, max_connections: 50}
timeouts: {connect: 250ms, first_byte: 30s, stream_idle: 15s, total: 1h}
health: {eject_after_failures: 5, eject_for: 30s, check_interval: 0, check_path: /v1/models}
sticky_header: X-User-Id
variant_header: ""
passthrough_v1: false
log_level: debug
models:
  - name: m
    baseline: {endpoints: ["h:1"]}
)");
  CHECK(c->listen.address == "127.0.0.1");
  CHECK(c->listen.port == 0);
  CHECK(c->threads == 4);
  CHECK(c->limits.max_header_bytes == 8 * 1024);
  CHECK(c->limits.max_body_bytes == 1024 * 1024);
  CHECK(c->limits.max_response_bytes == 2 * 1024 * 1024);
  CHECK(c->limits.max_json_depth == 32);
  CHECK(c->limits.read_timeout == 5s);
  CHECK(c->limits.idle_timeout == 2min);
  CHECK(c->limits.max_connections == 50);
  CHECK(c->timeouts.connect == 250ms);
  CHECK(c->timeouts.first_byte == 30s);
  CHECK(c->timeouts.stream_idle == 15s);
  CHECK(c->timeouts.total == 1h);
  CHECK(c->health.eject_after_failures == 5);
  CHECK(c->health.eject_for == 30s);
  CHECK(c->health.check_interval == 0ms);
  CHECK(c->health.check_path == "/v1/models");
  CHECK(c->sticky_header == "x-user-id");  // lower-cased
  CHECK(c->variant_header.empty());        // "" disables
  CHECK(!c->passthrough_v1);
  CHECK(c->log_level == "debug");
}

TEST_CASE("config: durations in every form", "[config]") {
  auto total = [](const std::string& v) { return ok(with("timeouts: {total: " + v + "}"))->timeouts.total; };
  CHECK(total("250ms") == 250ms);
  CHECK(total("10s") == 10s);
  CHECK(total("2m") == 2min);
  CHECK(total("1h") == 1h);
  CHECK(total("3") == 3s);        // a bare number is seconds
  CHECK(total("1.5") == 1500ms);  // and may be fractional
  CHECK(total("0.25s") == 250ms);
  CHECK(total("1.5m") == 90s);
  CHECK(total("\"10 s\"") == 10s);
  CHECK(total("24h") == 24h);
  CHECK(ok(with("health: {check_interval: 0}"))->health.check_interval == 0ms);
  CHECK(ok(with("health: {check_interval: 0s}"))->health.check_interval == 0ms);

  CHECK(error_of(with("timeouts: {total: soon}")) == "timeouts.total: expected a duration like 10s, got \"soon\" (line 1)");
  CHECK(error_of(with("timeouts: {total: 10x}")) == "timeouts.total: expected a duration like 10s, got \"10x\" (line 1)");
  CHECK(error_of(with("timeouts: {total: [1]}")) == "timeouts.total: expected a duration like 10s, got a list (line 1)");
  CHECK(error_of(with("timeouts: {connect: 0s}")) == "timeouts.connect: must be between 1ms and 24h, got 0s (line 1)");
  CHECK(error_of(with("timeouts: {connect: 0}")) == "timeouts.connect: must be between 1ms and 24h, got 0 (line 1)");
  CHECK(error_of(with("timeouts: {connect: -1s}")) == "timeouts.connect: must be between 1ms and 24h, got -1s (line 1)");
  CHECK(error_of(with("timeouts: {connect: 0.1ms}")) == "timeouts.connect: must be between 1ms and 24h, got 0.1ms (line 1)");
  CHECK(error_of(with("timeouts: {total: 25h}")) == "timeouts.total: must be between 1ms and 24h, got 25h (line 1)");
  CHECK(error_of(with("health: {check_interval: -1}")) == "health.check_interval: must be between 0s and 24h, got -1 (line 1)");
  CHECK(error_of(with("limits: {idle_timeout: 0ms}")) == "limits.idle_timeout: must be between 1ms and 24h, got 0ms (line 1)");
  CHECK(error_of(with("health: {eject_for: 0}")) == "health.eject_for: must be between 1ms and 24h, got 0 (line 1)");
}

TEST_CASE("config: sizes in every form", "[config]") {
  auto body = [](const std::string& v) { return ok(with("limits: {max_body_bytes: " + v + "}"))->limits.max_body_bytes; };
  CHECK(body("1024") == 1024);
  CHECK(body("512B") == 512);
  CHECK(body("16KiB") == 16 * 1024);
  CHECK(body("4MiB") == 4 * 1024 * 1024);
  CHECK(body("1GiB") == 1024 * 1024 * 1024);
  CHECK(body("1.5MiB") == 1536 * 1024);
  CHECK(body("\"2 MiB\"") == 2 * 1024 * 1024);

  CHECK(error_of(with("limits:\n  max_body_bytes: lots")) ==
        "limits.max_body_bytes: expected a size like 4MiB, got \"lots\" (line 2)");
  CHECK(error_of(with("limits: {max_body_bytes: 4MB}")) ==
        "limits.max_body_bytes: expected a size like 4MiB, got \"4MB\" (line 1)");
  CHECK(error_of(with("limits: {max_body_bytes: 1.5}")) ==
        "limits.max_body_bytes: expected a size like 4MiB, got \"1.5\" (line 1)");
  CHECK(error_of(with("limits: {max_body_bytes: 0}")) ==
        "limits.max_body_bytes: must be between 1B and 1GiB, got 0 (line 1)");
  CHECK(error_of(with("limits: {max_body_bytes: 2GiB}")) ==
        "limits.max_body_bytes: must be between 1B and 1GiB, got 2GiB (line 1)");
  CHECK(error_of(with("limits: {max_header_bytes: 2MiB}")) ==
        "limits.max_header_bytes: must be between 1B and 1MiB, got 2MiB (line 1)");
  CHECK(error_of(with("limits: {max_response_bytes: -1}")) ==
        "limits.max_response_bytes: must be between 1B and 1GiB, got -1 (line 1)");
}

TEST_CASE("config: fractional canary weights", "[config]") {
  auto weight = [](const std::string& w) {
    auto c = ok("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"]}\n    canary: {endpoints: [\"h:2\"], weight: " +
                w + "}\n");
    return c->models[0].canary->weight_percent;
  };
  CHECK(weight("0.5") == Approx(0.5));
  CHECK(weight("33.33") == Approx(33.33));
  CHECK(weight("0") == 0.0);
  CHECK(weight("100") == 100.0);
  CHECK(weight("\"10%\"") == 10.0);
  CHECK(weight("2.5%") == 2.5);
  // A canary without a weight is defined but gets no traffic.
  auto c = ok("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"]}\n    canary: {endpoints: [\"h:2\"]}\n");
  CHECK(c->models[0].canary->weight_percent == 0.0);
  CHECK(c->models[0].canary->served_model == "m");
}

TEST_CASE("config: range errors", "[config]") {
  CHECK(error_of(R"(
models:
  - name: m
    baseline:
      endpoints: ["h:1"]
    canary:
      endpoints: ["h:2"]
      weight: 150
)") == "models[0].canary.weight: must be between 0 and 100, got 150 (line 7)");
  CHECK(error_of("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"]}\n    canary: {endpoints: [\"h:2\"], weight: -0.5}\n") ==
        "models[0].canary.weight: must be between 0 and 100, got -0.5 (line 4)");
  CHECK(error_of("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"]}\n    canary: {endpoints: [\"h:2\"], weight: half}\n") ==
        "models[0].canary.weight: expected a percentage like 10 or 0.5, got \"half\" (line 4)");
  CHECK(error_of(with("listen: {port: 65536}")) == "listen.port: must be between 0 and 65535, got 65536 (line 1)");
  CHECK(error_of(with("listen: {port: http}")) == "listen.port: expected an integer, got \"http\" (line 1)");
  CHECK(error_of(with("threads: 257")) == "threads: must be between 0 and 256, got 257 (line 1)");
  CHECK(error_of(with("threads: 1.5")) == "threads: expected an integer, got \"1.5\" (line 1)");
  CHECK(error_of(with("limits: {max_json_depth: 0}")) == "limits.max_json_depth: must be between 1 and 1024, got 0 (line 1)");
  CHECK(error_of(with("limits: {max_json_depth: 1025}")) == "limits.max_json_depth: must be between 1 and 1024, got 1025 (line 1)");
  CHECK(error_of(with("limits: {max_connections: 0}")) == "limits.max_connections: must be between 1 and 1000000, got 0 (line 1)");
  CHECK(error_of(with("health: {eject_after_failures: 0}")) == "health.eject_after_failures: must be between 1 and 1000000, got 0 (line 1)");
}

TEST_CASE("config: type errors and other scalar checks", "[config]") {
  CHECK(error_of(with("passthrough_v1: maybe")) == "passthrough_v1: expected true or false, got \"maybe\" (line 1)");
  CHECK(error_of(with("log_level: verbose")) == "log_level: must be one of debug, info, warn, error, got \"verbose\" (line 1)");
  CHECK(error_of(with("log_level: inf")) ==
        "log_level: must be one of debug, info, warn, error, got \"inf\" (did you mean \"info\"?) (line 1)");
  CHECK(error_of(with("sticky_header: \"x user\"")) == "sticky_header: not a valid header name: \"x user\" (line 1)");
  CHECK(error_of(with("sticky_header: [a]")) == "sticky_header: expected a string, got a list (line 1)");
  CHECK(error_of(with("sticky_header:")) == "sticky_header: expected a string, got nothing (line 1)");
  CHECK(error_of(with("limits: 5")) == "limits: expected a mapping, got \"5\" (line 1)");
  CHECK(error_of(with("health: {check_path: health}")) ==
        "health.check_path: must be a path starting with \"/\", got \"health\" (line 1)");
  CHECK(error_of(with("listen: {address: \"\"}")) ==
        "listen.address: expected an IP address like 0.0.0.0, 127.0.0.1 or ::, got \"\" (line 1)");
  CHECK(error_of(with("listen: {address: localhost}")) ==
        "listen.address: expected an IP address like 0.0.0.0, 127.0.0.1 or ::, got \"localhost\" (line 1)");
  CHECK(ok(with("listen: {address: \"::\"}"))->listen.address == "::");
  CHECK(ok(with("listen: {address: \"[::1]\"}"))->listen.address == "::1");
  CHECK(ok(with("sticky_header: \"\""))->sticky_header.empty());
  CHECK(ok(with("log_level: WARN"))->log_level == "warn");
  CHECK(ok(with("limits:"))->limits == Limits{});  // an empty section keeps the defaults
}

TEST_CASE("config: unknown keys, with a suggestion when one is close", "[config]") {
  CHECK(error_of(R"(
models:
  - name: m
    baseline: {endpoints: ["h:1"]}
routes:
  - name: r
    match:
      hedaer: {name: x-tenant}
)") == "routes[0].match: unknown key \"hedaer\" (did you mean \"header\"?) (line 7)");
  CHECK(error_of(with("lisen: {port: 1}")) == "unknown key \"lisen\" (did you mean \"listen\"?) (line 1)");
  CHECK(error_of(with("limits: {max_body_byte: 1MiB}")) ==
        "limits: unknown key \"max_body_byte\" (did you mean \"max_body_bytes\"?) (line 1)");
  CHECK(error_of(with("colour: blue")) == "unknown key \"colour\" (line 1)");  // nothing close
  CHECK(error_of("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"], servedmodel: x}\n") ==
        "models[0].baseline: unknown key \"servedmodel\" (did you mean \"served_model\"?) (line 3)");
  CHECK(error_of("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"], weight: 5}\n") ==
        "models[0].baseline.weight: only the canary has a weight; the baseline gets the rest (line 3)");
  CHECK(error_of(with("threads: 1\nthreads: 2")) == "duplicate key \"threads\" (line 2)");
}

TEST_CASE("config: models are required and checked", "[config]") {
  CHECK(error_of("") == "models: required");
  CHECK(error_of("# only a comment\n") == "models: required");
  CHECK(error_of("threads: 2\n") == "models: required (a list of models, each with a name and a baseline) (line 1)");
  CHECK(error_of("models: []\n") == "models: needs at least one model (line 1)");
  CHECK(error_of("models: {name: m}\n") == "models: expected a list, got a mapping (line 1)");
  CHECK(error_of("models: []\n---\nmodels: []\n") == "a config file holds one YAML document; a second one starts here (line 2)");
  CHECK(error_of("- a\n- b\n") == "expected a mapping of settings at the top level, got a list (line 1)");
  CHECK(error_of("models:\n  - baseline: {endpoints: [\"h:1\"]}\n") ==
        "models[0].name: required (the model name clients send in \"model\") (line 2)");
  CHECK(error_of("models:\n  - name: \"\"\n    baseline: {endpoints: [\"h:1\"]}\n") ==
        "models[0].name: must not be empty (line 2)");
  CHECK(error_of("models:\n  - name: m\n") ==
        "models[0].baseline: required (the baseline variant with at least one endpoint) (line 2)");
  CHECK(error_of("models:\n  - name: m\n    baseline: {served_model: x}\n") ==
        "models[0].baseline.endpoints: required (at least one endpoint like \"10.0.0.5:8000\") (line 3)");
  CHECK(error_of("models:\n  - name: m\n    baseline: {endpoints: []}\n") ==
        "models[0].baseline.endpoints: needs at least one endpoint (line 3)");
  CHECK(error_of("models:\n  - name: m\n    baseline: {endpoints: \"h:1\"}\n") ==
        "models[0].baseline.endpoints: expected a list of endpoints like [\"10.0.0.5:8000\"], got \"h:1\" (line 3)");
  CHECK(error_of(R"(
models:
  - name: m
    baseline: {endpoints: ["h:1"]}
  - name: m
    baseline: {endpoints: ["h:2"]}
)") == "models[1].name: duplicate model name \"m\" (first at line 2) (line 4)");
}

TEST_CASE("config: endpoints", "[config]") {
  auto eps = ok(R"(
models:
  - name: m
    baseline:
      endpoints: ["http://10.0.0.5:8000", "10.0.0.6:8000", "http://backend.local:9000/", "[::1]:8001"]
)")->models[0].baseline.endpoints;
  REQUIRE(eps.size() == 4);
  CHECK(eps[0].label() == "10.0.0.5:8000");
  CHECK(eps[1].label() == "10.0.0.6:8000");
  CHECK(eps[2].host == "backend.local");
  CHECK(eps[2].port == 9000);
  CHECK(eps[3].host == "::1");
  CHECK(eps[3].port == 8001);

  auto endpoint_error = [](const std::string& ep) {
    return error_of("models:\n  - name: m\n    baseline:\n      endpoints: [\"" + ep + "\"]\n");
  };
  CHECK(endpoint_error("ftp://10.0.0.5:8000") ==
        "models[0].baseline.endpoints[0]: unsupported scheme \"ftp\"; use http://host:port, https://host:port or "
        "host:port (line 4)");
  CHECK(endpoint_error("http://10.0.0.5:8000/v1") ==
        "models[0].baseline.endpoints[0]: must not have a path (got \"/v1\"); slipway forwards the client's path, "
        "e.g. /v1/chat/completions (line 4)");
  CHECK(endpoint_error("10.0.0.5") == "models[0].baseline.endpoints[0]: needs a port, like \"10.0.0.5:8000\" (line 4)");
  CHECK(endpoint_error("10.0.0.5:0") == "models[0].baseline.endpoints[0]: port must be between 1 and 65535, got 0 (line 4)");
  CHECK(endpoint_error("10.0.0.5:65536") ==
        "models[0].baseline.endpoints[0]: port must be between 1 and 65535, got 65536 (line 4)");
  CHECK(endpoint_error("10.0.0.5:http") == "models[0].baseline.endpoints[0]: not a valid port: \"http\" (line 4)");
  CHECK(endpoint_error(":8000") == "models[0].baseline.endpoints[0]: needs a host (got \":8000\") (line 4)");
  CHECK(endpoint_error("grpc://h:1") ==
        "models[0].baseline.endpoints[0]: unsupported scheme \"grpc\"; use http://host:port, https://host:port or "
        "host:port (line 4)");
  CHECK(endpoint_error("::1:8000") ==
        "models[0].baseline.endpoints[0]: an IPv6 address needs brackets, like \"[::1]:8000\" (line 4)");

  CHECK(error_of(R"(
models:
  - name: m
    baseline:
      endpoints:
        - 10.0.0.5:8000
        - http://10.0.0.5:8000
)") == "models[0].baseline.endpoints[1]: duplicate endpoint \"10.0.0.5:8000\" in this pool (line 6)");
  // The same server in the baseline and canary pools is allowed (only duplicates within a pool are errors).
  ok("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"]}\n    canary: {endpoints: [\"h:1\"], weight: 1}\n");
}

TEST_CASE("config: backend API keys", "[config]") {
  {
    EnvVar v("SLIPWAY_TEST_KEY", "secret");
    auto c = ok("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"], api_key_env: SLIPWAY_TEST_KEY}\n");
    CHECK(c->models[0].baseline.api_key == "secret");
  }
  {
    EnvVar v("SLIPWAY_TEST_KEY", nullptr);
    CHECK(error_of("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"], api_key_env: SLIPWAY_TEST_KEY}\n") ==
          "models[0].baseline.api_key_env: environment variable \"SLIPWAY_TEST_KEY\" is not set (line 3)");
  }
  {
    EnvVar v("SLIPWAY_TEST_KEY", "");
    CHECK(error_of("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"], api_key_env: SLIPWAY_TEST_KEY}\n") ==
          "models[0].baseline.api_key_env: environment variable \"SLIPWAY_TEST_KEY\" is empty (line 3)");
  }
  auto c = ok("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"], api_key: literal-key}\n");
  CHECK(c->models[0].baseline.api_key == "literal-key");
  CHECK(error_of("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"], api_key: k, api_key_env: K}\n") ==
        "models[0].baseline.api_key: set either api_key_env or api_key, not both (line 3)");
}

TEST_CASE("config: routes", "[config]") {
  auto c = ok(R"(
models:
  - name: llama
    baseline: {endpoints: ["h:1"]}
routes:
  - name: legal
    match: {header: {name: X-Tenant, values: [legal, medical]}, model: llama, path_prefix: /v1/chat}
    pin: baseline
  - name: any-pin-header
    match:
      header: {name: x-pin}
)");
  REQUIRE(c->routes.size() == 2);
  const RouteRule& r = c->routes[0];
  CHECK(r.name == "legal");
  REQUIRE(r.header);
  CHECK(r.header->name == "x-tenant");  // lower-cased
  CHECK(r.header->values == std::vector<std::string>{"legal", "medical"});
  CHECK(r.model == "llama");
  CHECK(r.path_prefix == "/v1/chat");
  CHECK(r.pin_baseline);
  REQUIRE(c->routes[1].header);
  CHECK(c->routes[1].header->values.empty());  // header present
  CHECK(!c->routes[1].model);
  CHECK(c->routes[1].pin_baseline);            // pin defaults to baseline

  const std::string models = "models:\n  - name: llama\n    baseline: {endpoints: [\"h:1\"]}\nroutes:\n";
  CHECK(error_of(models + "  - name: r\n    match: {model: lama}\n") ==
        "routes[0].match.model: no model named \"lama\" is configured (did you mean \"llama\"?) (line 6)");
  CHECK(error_of(models + "  - name: r\n    match: {model: gpt-4}\n") ==
        "routes[0].match.model: no model named \"gpt-4\" is configured (line 6)");
  CHECK(error_of(models + "  - name: r\n    match: {}\n") ==
        "routes[0].match: needs at least one of header, model, path_prefix (line 6)");
  CHECK(error_of(models + "  - name: r\n    pin: baseline\n") ==
        "routes[0].match: required (at least one of header, model, path_prefix) (line 5)");
  CHECK(error_of(models + "  - match: {path_prefix: /v1}\n") ==
        "routes[0].name: required (a name for logs and metrics) (line 5)");
  CHECK(error_of(models + "  - name: r\n    match: {path_prefix: /v1}\n    pin: canary\n") ==
        "routes[0].pin: must be \"baseline\" (the only pin supported), got \"canary\" (line 7)");
  CHECK(error_of(models + "  - name: r\n    match: {path_prefix: v1}\n") ==
        "routes[0].match.path_prefix: must start with \"/\", got \"v1\" (line 6)");
  CHECK(error_of(models + "  - name: r\n    match: {header: {values: [a]}}\n") ==
        "routes[0].match.header.name: required (the header name) (line 6)");
  CHECK(error_of(models + "  - name: r\n    match: {header: {name: x, values: a}}\n") ==
        "routes[0].match.header.values: expected a list, got \"a\" (line 6)");
  CHECK(error_of(models + "  - name: r\n    match: {path_prefix: /a}\n  - name: r\n    match: {path_prefix: /b}\n") ==
        "routes[1].name: duplicate route name \"r\" (first at line 5) (line 7)");
  CHECK(error_of(models + "  x: 1\n") == "routes: expected a list, got a mapping (line 5)");
}

TEST_CASE("config: validation section and route on_invalid", "[config]") {
  auto d = ok(with("log_level: info"));
  CHECK(d->validation == Validation{});
  CHECK(d->validation.enabled);
  CHECK(d->validation.on_invalid == OnInvalid::pass);

  auto c = ok(R"(
validation:
  enabled: false
  on_invalid: fallback
  max_schema_bytes: 128KiB
  max_schema_depth: 16
  max_subschemas: 500
  max_regex_program_size: 1000
  max_assembled_bytes: 2MiB
  schema_cache_entries: 64
  refusal_extra_phrases: ["(?i)cannot comply", "not allowed to"]
  refusal_threshold: 0.8
models:
  - name: m
    baseline: {endpoints: ["h:1"]}
routes:
  - name: strict-json
    match: {path_prefix: /v1/chat}
    on_invalid: reject
  - name: pinned-and-strict
    match: {model: m}
    pin: baseline
    on_invalid: fallback
  - name: plain-pin
    match: {header: {name: x-pin}}
)");
  const Validation& v = c->validation;
  CHECK(!v.enabled);
  CHECK(v.on_invalid == OnInvalid::fallback);
  CHECK(v.max_schema_bytes == 128 * 1024);
  CHECK(v.max_schema_depth == 16);
  CHECK(v.max_subschemas == 500);
  CHECK(v.max_regex_program_size == 1000);
  CHECK(v.max_assembled_bytes == 2 * 1024 * 1024);
  CHECK(v.schema_cache_entries == 64);
  CHECK(v.refusal_extra_phrases == std::vector<std::string>{"(?i)cannot comply", "not allowed to"});
  CHECK(v.refusal_threshold == Approx(0.8));
  REQUIRE(c->routes.size() == 3);
  CHECK(c->routes[0].on_invalid == OnInvalid::reject);
  CHECK(!c->routes[0].pin_baseline);  // only sets on_invalid: does not pin
  CHECK(c->routes[1].on_invalid == OnInvalid::fallback);
  CHECK(c->routes[1].pin_baseline);
  CHECK(!c->routes[2].on_invalid);
  CHECK(c->routes[2].pin_baseline);   // neither: pins (pin defaults to baseline)

  CHECK(error_of(with("validation: {on_invalid: fallbak}")) ==
        "validation.on_invalid: must be one of pass, fallback, reject, got \"fallbak\" (did you mean \"fallback\"?) (line 1)");
  CHECK(error_of(with("validation: {max_schema_depth: 0}")) ==
        "validation.max_schema_depth: must be between 1 and 1024, got 0 (line 1)");
  CHECK(error_of(with("validation: {max_schema_bytes: 32MiB}")) ==
        "validation.max_schema_bytes: must be between 1B and 16MiB, got 32MiB (line 1)");
  CHECK(error_of(with("validation: {refusal_threshold: 0}")) ==
        "validation.refusal_threshold: must be between 0.01 and 100, got 0 (line 1)");
  CHECK(error_of(with("validation: {refusal_threshold: high}")) ==
        "validation.refusal_threshold: expected a number, got \"high\" (line 1)");
  CHECK(error_of(with("validation: {refusal_extra_phrases: [\"\"]}")) ==
        "validation.refusal_extra_phrases[0]: must not be empty (line 1)");
  CHECK(error_of(with("validation: {enable: true}")) ==
        "validation: unknown key \"enable\" (did you mean \"enabled\"?) (line 1)");
  CHECK(error_of("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"]}\nroutes:\n  - name: r\n    match: {model: m}\n    on_invalid: drop\n") ==
        "routes[0].on_invalid: must be one of pass, fallback, reject, got \"drop\" (line 7)");
}

TEST_CASE("config: several errors in one file are all reported, in file order", "[config]") {
  EnvVar v("SLIPWAY_TEST_UNSET", nullptr);
  auto errs = errors_of(R"(
listen: {address: 0.0.0.0, port: 70000}
limits:
  max_body_bytes: lots
  read_timeout: 0s
lisen: 3
models:
  - name: a
    baseline:
      endpoints: ["ftp://x:1", "x:1", "x:1"]
    canary:
      weight: 150
      endpoints: ["c:1"]
      api_key_env: SLIPWAY_TEST_UNSET
  - name: a
    baseline: {endpoints: ["h:1"]}
routes:
  - name: r
    match: {hedaer: {name: x-tenant}, model: b}
    pin: canary
log_level: loud
)");
  const std::vector<std::string> expected = {
      "listen.port: must be between 0 and 65535, got 70000 (line 1)",
      "limits.max_body_bytes: expected a size like 4MiB, got \"lots\" (line 3)",
      "limits.read_timeout: must be between 1ms and 24h, got 0s (line 4)",
      "unknown key \"lisen\" (did you mean \"listen\"?) (line 5)",
      "models[0].baseline.endpoints[0]: unsupported scheme \"ftp\"; use http://host:port, https://host:port or host:port (line 9)",
      "models[0].baseline.endpoints[2]: duplicate endpoint \"x:1\" in this pool (line 9)",
      "models[0].canary.weight: must be between 0 and 100, got 150 (line 11)",
      "models[0].canary.api_key_env: environment variable \"SLIPWAY_TEST_UNSET\" is not set (line 13)",
      "models[1].name: duplicate model name \"a\" (first at line 7) (line 14)",
      "routes[0].match: unknown key \"hedaer\" (did you mean \"header\"?) (line 18)",
      "routes[0].match.model: no model named \"b\" is configured (line 18)",
      "routes[0].pin: must be \"baseline\" (the only pin supported), got \"canary\" (line 19)",
      "log_level: must be one of debug, info, warn, error, got \"loud\" (line 20)",
  };
  CHECK(errs == expected);
}

TEST_CASE("config: a YAML syntax error is one error with its line", "[config]") {
  ParseResult r = parse_config("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"]\n  - name: n\n", "x.yaml");
  CHECK(!r.config);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].path.empty());
  CHECK(r.errors[0].line >= 3);
  CHECK(r.errors[0].message.starts_with("YAML syntax error: "));

  ParseResult tab = parse_config("models:\n  - name: m\n\tbaseline: x\n", "x.yaml");
  REQUIRE(tab.errors.size() == 1);
  CHECK(tab.errors[0].line == 3);
  CHECK(tab.errors[0].to_string().ends_with("(line 3)"));
}

TEST_CASE("config: inputs on which yaml-cpp 0.7 LoadAll never returns are syntax errors", "[config]") {
  // jbeder/yaml-cpp#1040: a "," outside brackets; found by the damaged-input test below.
  CHECK(error_of(",\n") == "YAML syntax error: unexpected \",\" (line 1)");
  CHECK(error_of("# comment\n,   - a\nlisten: {port: 1}\n") == "YAML syntax error: unexpected \",\" (line 2)");
  CHECK(error_of("[a]\n,\n") == "YAML syntax error: unexpected \",\" (line 2)");
  CHECK(error_of("[:").starts_with("YAML syntax error: "));
  CHECK(error_of("{:").starts_with("YAML syntax error: "));
}

TEST_CASE("config: load_config_file", "[config]") {
  ParseResult missing = load_config_file("/nonexistent/slipway.yaml");
  CHECK(!missing.config);
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].to_string() ==
        "cannot read config file \"/nonexistent/slipway.yaml\": No such file or directory");

  ParseResult dir = load_config_file("/");
  REQUIRE(dir.errors.size() == 1);
  CHECK(dir.errors[0].to_string() == "cannot read config file \"/\": Is a directory");

  const std::string path = "/tmp/slipway-config-test-" + std::to_string(::getpid()) + ".yaml";
  {
    std::ofstream(path) << "models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"]}\n";
  }
  ParseResult r = load_config_file(path);
  REQUIRE(r.config);
  CHECK(r.config->source == path);
  CHECK(r.config->generation == 0);
  {
    std::ofstream(path) << "models:\n  - name: m\n    baseline: {endpoints: [\"h:0\"]}\n";
  }
  ParseResult bad = load_config_file(path);
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors[0].to_string() == "models[0].baseline.endpoints[0]: port must be between 1 and 65535, got 0 (line 3)");
  std::remove(path.c_str());
}

TEST_CASE("config: ConfigError formatting", "[config]") {
  CHECK(ConfigError{"models[0].canary.weight", 12, "must be between 0 and 100, got 150"}.to_string() ==
        "models[0].canary.weight: must be between 0 and 100, got 150 (line 12)");
  CHECK(ConfigError{"", 0, "cannot read"}.to_string() == "cannot read");
  CHECK(ConfigError{"models", 0, "required"}.to_string() == "models: required");
}

TEST_CASE("config: damaged input never throws and gives a config or errors, not both", "[config]") {
  const std::string base(embedded_default_config());
  uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
  const std::string junk = ":-[]{}#&*!|>'\"%@`\t\n 0x.,?";
  for (int i = 0; i < 2000; ++i) {
    std::string text = base;
    if (i % 3 == 0) {
      text.resize(next() % text.size());  // truncated
    } else {
      for (int k = 0, n = 1 + next() % 4; k < n; ++k) text[next() % text.size()] = junk[next() % junk.size()];
    }
    ParseResult r;
    REQUIRE_NOTHROW(r = parse_config(text, "fuzz"));
    CHECK((r.config != nullptr) == r.errors.empty());
  }
  // Deep nesting and aliases are handled by yaml-cpp's guards or by the type checks.
  ParseResult deep = parse_config(std::string(10000, '[') + std::string(10000, ']'), "deep");
  CHECK(!deep.config);
  CHECK(!deep.errors.empty());
  auto c = ok(R"(
models:
  - name: m
    baseline: {endpoints: &pool ["h:1", "h:2"]}
  - name: n
    baseline: {endpoints: *pool}
)");
  CHECK(c->models[1].baseline.endpoints == c->models[0].baseline.endpoints);
}

TEST_CASE("a refusal phrase that is not valid RE2 rejects the file, naming the key and line") {
  auto r = slipway::config::parse_config(
      "models:\n  - name: m\n    baseline: {endpoints: [\"127.0.0.1:8001\"]}\n"
      "validation:\n  refusal_extra_phrases: [\"ok phrase\", \"(unclosed\"]\n",
      "t.yaml");
  REQUIRE(r.errors.size() == 1);
  REQUIRE(r.errors[0].path == "validation.refusal_extra_phrases[1]");
  REQUIRE(r.errors[0].line == 5);
  REQUIRE(r.errors[0].message.find("RE2") != std::string::npos);
}

TEST_CASE("config: slices, admin, price, metrics_on_main", "[config][metrics]") {
  auto c = ok(R"(
slices:
  - {name: long_context, prompt_tokens_over: 8000}
  - {name: tools, tools_at_least: 1}
  - {name: json_schema, response_format: json_schema}
  - {name: deep_schema, schema_depth_at_least: 3}
  - {name: streaming, stream: true}
  - {name: fr, header: {name: X-Lang, values: [fr]}}
  - {name: m_only, model: m, path_prefix: /v1/chat}
admin: {address: 127.0.0.1, port: 0}
metrics_on_main: true
models:
  - name: m
    baseline: {endpoints: ["h:1"], price: {prompt_per_1k: 0.0005, completion_per_1k: 0.0015}}
)");
  REQUIRE(c->slices.size() == 7);
  CHECK(c->slices[0].prompt_tokens_over == 8000);
  CHECK(c->slices[1].tools_at_least == 1);
  CHECK(c->slices[2].response_format == "json_schema");
  CHECK(c->slices[3].schema_depth_at_least == 3);
  CHECK(c->slices[4].stream == true);
  REQUIRE(c->slices[5].header);
  CHECK(c->slices[5].header->name == "x-lang");
  CHECK(c->slices[5].header->values == std::vector<std::string>{"fr"});
  CHECK(c->slices[6].model == "m");
  REQUIRE(c->admin);
  CHECK(c->admin->port == 0);
  CHECK(c->admin->address == "127.0.0.1");
  CHECK_FALSE(c->admin->token);
  CHECK(c->metrics_on_main);
  REQUIRE(c->models[0].baseline.price);
  CHECK(c->models[0].baseline.price->completion_per_1k == 0.0015);
  CHECK_FALSE(ok(with(""))->admin);
}

TEST_CASE("config: slice errors name the key", "[config][metrics]") {
  CHECK(error_of(with("slices:\n  - {name: all, stream: true}")) ==
        "slices[0].name: \"all\" is reserved (every request is counted under slice=\"all\") (line 2)");
  CHECK(error_of(with("slices:\n  - {name: a, stream: true}\n  - {name: a, stream: false}")) ==
        "slices[1].name: duplicate slice name \"a\" (first at line 2) (line 3)");
  CHECK(error_of(with("slices:\n  - {name: \"a b\", stream: true}")) ==
        "slices[0].name: must be 1..64 characters of letters, digits, _ and -, starting with a letter or _ (line 2)");
  CHECK(error_of(with("slices:\n  - {name: a}")).starts_with("slices[0]: needs at least one predicate"));
  CHECK(error_of(with("slices:\n  - {name: a, response_format: json}")).starts_with(
        "slices[0].response_format: must be one of text, json_object, json_schema"));
  CHECK(error_of(with("slices:\n  - {name: a, model: mm}")) ==
        "slices[0].model: no model named \"mm\" is configured (did you mean \"m\"?) (line 2)");
  CHECK(error_of(with("slices:\n  - {name: a, route: r}")) == "slices[0].route: no route named \"r\" is configured (line 2)");
  CHECK(error_of(with("slices:\n  - {name: a, strem: true}")).starts_with("slices[0]: unknown key \"strem\""));
  std::string many = "slices:\n";
  for (int i = 0; i < 33; ++i) many += "  - {name: s" + std::to_string(i) + ", stream: true}\n";
  CHECK(error_of(with(many)) == "slices: at most 32 slices (label cardinality), got 33 (line 2)");
}

TEST_CASE("config: admin and price errors", "[config][metrics]") {
  CHECK(error_of(with("admin: {port: 70000}")) == "admin.port: must be between 0 and 65535, got 70000 (line 1)");
  CHECK(error_of(with("admin: {address: localhost}")) ==
        "admin.address: expected an IP address like 127.0.0.1 or ::1, got \"localhost\" (line 1)");
  CHECK(error_of(with("admin: {token_env: SLIPWAY_TEST_SURELY_UNSET_VAR}")) ==
        "admin.token_env: environment variable \"SLIPWAY_TEST_SURELY_UNSET_VAR\" is not set or empty (line 1)");
  ::setenv("SLIPWAY_TEST_ADMIN_TOKEN", "s3cret", 1);
  auto c = ok(with("admin: {token_env: SLIPWAY_TEST_ADMIN_TOKEN}"));
  REQUIRE(c->admin);
  CHECK(c->admin->token == "s3cret");
  CHECK(c->admin->port == 9090);
  CHECK(error_of("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"], price: {prompt_per_1k: -1}}\n") ==
        "models[0].baseline.price.prompt_per_1k: must be between 0 and 1000000, got -1 (line 3)");
  CHECK(error_of(with("metrics_on_main: maybe")).starts_with("metrics_on_main: expected"));
  CHECK(ok(with(""))->metrics_enabled);
  CHECK_FALSE(ok(with("metrics_enabled: false"))->metrics_enabled);
}
