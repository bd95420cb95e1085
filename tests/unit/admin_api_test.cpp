// The admin API (gateway/admin_api.cpp) against a fake RolloutControl that records every call: refused
// without a configured token (403), with a missing, wrong or almost-right token (401), then each endpoint
// calls the control with the right arguments and relays its status; bad bodies are 400 naming the field;
// %2F in a model name is decoded; every mutating call writes an admin_action line without the token.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gateway/admin_api.hpp"

using namespace slipway;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

const std::string kToken = "s3cret-token-0123456789abcdef";

struct Call {
  std::string action, model, reason;
  std::optional<double> weight;
};

class FakeControl final : public RolloutControl {
 public:
  std::vector<Call> calls;
  ControlResult next{200, "done", json::object{{"model", "m"}, {"effective_weight", 0}}};

  json::object state() const override {
    ++state_calls;
    return json::object{{"config_generation", 7},
                        {"config_source", "test.yaml"},
                        {"models", json::array{json::object{{"model", "m"}, {"configured_weight", 10}, {"effective_weight", 10},
                                                            {"rollout", nullptr}}}}};
  }
  ControlResult rollback(std::string_view model, std::string_view reason) override {
    calls.push_back({"rollback", std::string(model), std::string(reason), std::nullopt});
    return next;
  }
  ControlResult resume(std::string_view model, std::string_view reason) override {
    calls.push_back({"resume", std::string(model), std::string(reason), std::nullopt});
    return next;
  }
  ControlResult set_weight(std::string_view model, std::optional<double> percent, std::string_view reason) override {
    calls.push_back({"set_weight", std::string(model), std::string(reason), percent});
    return next;
  }
  mutable int state_calls = 0;
};

AdminRequest request(http::verb method, std::string target, std::string body = {},
                     std::optional<std::string> authorization = "Bearer " + kToken) {
  AdminRequest req{method, target, 11};
  if (authorization) req.set(http::field::authorization, *authorization);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

// Runs `fn` with stdout (where Log writes its JSON lines) captured into a string.
std::string capture_stdout(const std::function<void()>& fn) {
  std::cout.flush();
  std::fflush(stdout);
  char path[] = "/tmp/slipway-admin-test-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  int saved = dup(1);
  dup2(fd, 1);
  fn();
  std::fflush(stdout);
  dup2(saved, 1);
  close(saved);
  std::string out;
  lseek(fd, 0, SEEK_SET);
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  close(fd);
  unlink(path);
  return out;
}

json::object error_of(const AdminResponse& res) {
  INFO(res.body());
  json::value v = json::parse(res.body());
  REQUIRE(v.is_object());
  REQUIRE(v.as_object().contains("error"));
  json::object e = v.as_object().at("error").as_object();
  REQUIRE(e.contains("message"));
  REQUIRE(e.contains("type"));
  REQUIRE(e.contains("param"));
  REQUIRE(e.contains("code"));
  return e;
}

std::string param_of(const AdminResponse& res) {
  json::object e = error_of(res);
  return e.at("param").is_string() ? std::string(e.at("param").as_string()) : std::string();
}

struct Fixture {
  Log log;
  AdminApi api{log};
  FakeControl control;
  AdminResponse call(const AdminRequest& req, std::optional<std::string> token = kToken, bool with_control = true) {
    return api.answer(req, token, with_control ? &control : nullptr, "127.0.0.1:5555");
  }
};

}  // namespace

TEST_CASE("admin token comparison: equal digests only", "[admin]") {
  CHECK(admin_token_matches(kToken, kToken));
  CHECK_FALSE(admin_token_matches(kToken + "x", kToken));
  CHECK_FALSE(admin_token_matches(kToken.substr(0, kToken.size() - 1), kToken));
  CHECK_FALSE(admin_token_matches("", kToken));
  CHECK_FALSE(admin_token_matches("S3cret-token-0123456789abcdef", kToken));
}

TEST_CASE("admin API without a configured token refuses every call with 403", "[admin]") {
  Fixture f;
  for (std::optional<std::string> token : {std::optional<std::string>{}, std::optional<std::string>{""}}) {
    for (const auto& req : {request(http::verb::get, "/admin/v1/state"),
                            request(http::verb::post, "/admin/v1/models/m/rollback", R"({"reason":"x"})"),
                            request(http::verb::post, "/admin/v1/models/m/resume", R"({"reason":"x"})"),
                            request(http::verb::put, "/admin/v1/models/m/weight", R"({"weight_percent":5,"reason":"x"})"),
                            request(http::verb::get, "/admin/v1/nope"),
                            request(http::verb::get, "/admin/v1/state", {}, std::nullopt),
                            request(http::verb::get, "/admin/v1/state", {}, "Bearer ")}) {
      AdminResponse res = f.call(req, token);
      INFO(req.target() << " -> " << res.body());
      CHECK(res.result_int() == 403);
      auto e = error_of(res);
      CHECK(e.at("code").as_string() == "admin_token_not_configured");
      CHECK(e.at("type").as_string() == "permission_error");
      std::string msg(e.at("message").as_string());
      CHECK(msg.find("admin.token_env") != std::string::npos);
      CHECK(msg.find("admin.token_file") != std::string::npos);
    }
  }
  CHECK(f.control.calls.empty());
  CHECK(f.control.state_calls == 0);
}

TEST_CASE("admin API refuses a missing, wrong or almost-right token with 401", "[admin]") {
  Fixture f;
  std::string last_changed = kToken;
  last_changed.back() = last_changed.back() == 'f' ? 'e' : 'f';
  const std::vector<std::optional<std::string>> bad = {
      std::nullopt,                              // no header
      "",                                        // empty header
      "Bearer",                                  // scheme only
      "Bearer ",                                 // scheme and a space
      "Basic " + kToken,                         // another scheme
      kToken,                                    // no scheme
      "Bearer wrong",                            // wrong
      "Bearer " + kToken + "x",                  // one character more
      "Bearer " + kToken.substr(0, kToken.size() - 1),  // one character less
      "Bearer " + last_changed,                  // last character differs
      "Bearer S3cret-token-0123456789abcdef",    // case differs
      "Bearer " + kToken + " " + kToken,         // two tokens
  };
  for (const auto& auth : bad) {
    for (const auto& req : {request(http::verb::get, "/admin/v1/state", {}, auth),
                            request(http::verb::post, "/admin/v1/models/m/rollback", R"({"reason":"x"})", auth),
                            request(http::verb::put, "/admin/v1/models/m/weight", R"({"weight_percent":5,"reason":"x"})", auth),
                            request(http::verb::get, "/admin/v1/unknown", {}, auth)}) {
      AdminResponse res = f.call(req);
      INFO((auth ? *auth : std::string("<no header>")) << " " << req.target() << " -> " << res.body());
      CHECK(res.result_int() == 401);
      CHECK(std::string(res[http::field::www_authenticate]).starts_with("Bearer realm=\"slipway-admin\""));
      CHECK(error_of(res).at("type").as_string() == "authentication_error");
      CHECK(res.body().find(kToken) == std::string::npos);
    }
  }
  CHECK(f.control.calls.empty());
  CHECK(f.control.state_calls == 0);
}

TEST_CASE("admin API with the right token: each endpoint calls the control and relays its status", "[admin]") {
  Fixture f;

  SECTION("GET state returns the control's state") {
    AdminResponse res = f.call(request(http::verb::get, "/admin/v1/state"));
    REQUIRE(res.result_int() == 200);
    CHECK(std::string(res[http::field::content_type]) == "application/json");
    CHECK(json::parse(res.body()) == json::value(f.control.state()));
    // The scheme is case-insensitive (RFC 7235); surrounding spaces are tolerated.
    CHECK(f.call(request(http::verb::get, "/admin/v1/state?x=1", {}, "bearer  " + kToken + " ")).result_int() == 200);
  }
  SECTION("rollback") {
    AdminResponse res = f.call(request(http::verb::post, "/admin/v1/models/m/rollback", R"({"reason":"canary answers look wrong"})"));
    REQUIRE(res.result_int() == 200);
    REQUIRE(f.control.calls.size() == 1);
    CHECK(f.control.calls[0].action == "rollback");
    CHECK(f.control.calls[0].model == "m");
    CHECK(f.control.calls[0].reason == "canary answers look wrong");
    json::object body = json::parse(res.body()).as_object();
    CHECK(body.at("model").as_string() == "m");
    CHECK(body.at("action").as_string() == "rollback");
    CHECK(body.at("message").as_string() == "done");
    CHECK(body.at("state").as_object().at("model").as_string() == "m");
  }
  SECTION("resume") {
    REQUIRE(f.call(request(http::verb::post, "/admin/v1/models/m/resume", R"({"reason":"fixed"})")).result_int() == 200);
    REQUIRE(f.control.calls.size() == 1);
    CHECK(f.control.calls[0].action == "resume");
    CHECK(f.control.calls[0].reason == "fixed");
  }
  SECTION("weight: a number, then null to clear") {
    REQUIRE(f.call(request(http::verb::put, "/admin/v1/models/m/weight", R"({"weight_percent":5.5,"reason":"slow down"})")).result_int() == 200);
    REQUIRE(f.call(request(http::verb::put, "/admin/v1/models/m/weight", R"({"weight_percent":0,"reason":"pause"})")).result_int() == 200);
    REQUIRE(f.call(request(http::verb::put, "/admin/v1/models/m/weight", R"({"weight_percent":100,"reason":"all in"})")).result_int() == 200);
    REQUIRE(f.call(request(http::verb::put, "/admin/v1/models/m/weight", R"({"weight_percent":null,"reason":"back to config"})")).result_int() == 200);
    REQUIRE(f.control.calls.size() == 4);
    CHECK(f.control.calls[0].action == "set_weight");
    CHECK(f.control.calls[0].weight == std::optional<double>(5.5));
    CHECK(f.control.calls[0].reason == "slow down");
    CHECK(f.control.calls[1].weight == std::optional<double>(0.0));
    CHECK(f.control.calls[2].weight == std::optional<double>(100.0));
    CHECK_FALSE(f.control.calls[3].weight.has_value());
  }
  SECTION("the control's refusals are relayed with their status and message") {
    f.control.next = ControlResult{404, "no model named \"x\"", {}};
    AdminResponse res = f.call(request(http::verb::post, "/admin/v1/models/x/rollback", R"({"reason":"r"})"));
    CHECK(res.result_int() == 404);
    CHECK(error_of(res).at("message").as_string() == "no model named \"x\"");
    CHECK(param_of(res) == "model");
    f.control.next = ControlResult{409, "model m has no canary", {}};
    res = f.call(request(http::verb::post, "/admin/v1/models/m/resume", R"({"reason":"r"})"));
    CHECK(res.result_int() == 409);
    CHECK(error_of(res).at("code").as_string() == "conflict");
    f.control.next = ControlResult{500, "state file: No space left on device", {}};
    res = f.call(request(http::verb::put, "/admin/v1/models/m/weight", R"({"weight_percent":1,"reason":"r"})"));
    CHECK(res.result_int() == 500);
    CHECK(error_of(res).at("type").as_string() == "server_error");
    CHECK(f.control.calls.size() == 3);
  }
  SECTION("model names are percent-decoded; %2F keeps a '/' inside one name") {
    REQUIRE(f.call(request(http::verb::post, "/admin/v1/models/org%2Fllama-3.1%2070b-int4/rollback", R"({"reason":"r"})")).result_int() == 200);
    REQUIRE(f.call(request(http::verb::put, "/admin/v1/models/org%2fqwen%3A7b/weight", R"({"weight_percent":1,"reason":"r"})")).result_int() == 200);
    REQUIRE(f.control.calls.size() == 2);
    CHECK(f.control.calls[0].model == "org/llama-3.1 70b-int4");
    CHECK(f.control.calls[1].model == "org/qwen:7b");
    CHECK(f.call(request(http::verb::post, "/admin/v1/models/bad%zzname/rollback", R"({"reason":"r"})")).result_int() == 400);
  }
}

TEST_CASE("admin API: unknown paths 404, wrong methods 405 with Allow", "[admin]") {
  Fixture f;
  for (const char* target : {"/admin", "/admin/", "/admin/v1", "/admin/v2/state", "/admin/v1/states", "/admin/v1/models/m",
                             "/admin/v1/models/m/promote", "/admin/v1/models/rollback"}) {
    AdminResponse res = f.call(request(http::verb::post, target, R"({"reason":"r"})"));
    INFO(target << " -> " << res.body());
    CHECK(res.result_int() == 404);
  }
  struct Case { http::verb method; const char* target; const char* allow; };
  for (const Case& c : {Case{http::verb::post, "/admin/v1/state", "GET"}, Case{http::verb::delete_, "/admin/v1/state", "GET"},
                        Case{http::verb::get, "/admin/v1/models/m/rollback", "POST"},
                        Case{http::verb::put, "/admin/v1/models/m/resume", "POST"},
                        Case{http::verb::post, "/admin/v1/models/m/weight", "PUT"}}) {
    AdminResponse res = f.call(request(c.method, c.target, R"({"reason":"r","weight_percent":1})"));
    INFO(c.target << " -> " << res.body());
    CHECK(res.result_int() == 405);
    CHECK(std::string(res[http::field::allow]) == c.allow);
    CHECK(error_of(res).at("code").as_string() == "method_not_allowed");
  }
  CHECK(f.control.calls.empty());
}

TEST_CASE("admin API: bad bodies are 400 naming the field", "[admin]") {
  Fixture f;
  struct Case { http::verb method; const char* target; std::string body; const char* param; };
  const std::string long_reason(kMaxAdminReasonChars + 1, 'x');
  const std::vector<Case> cases = {
      {http::verb::post, "/admin/v1/models/m/rollback", "", ""},
      {http::verb::post, "/admin/v1/models/m/rollback", "{reason: x}", ""},
      {http::verb::post, "/admin/v1/models/m/rollback", R"(["reason"])", ""},
      {http::verb::post, "/admin/v1/models/m/rollback", "{}", "reason"},
      {http::verb::post, "/admin/v1/models/m/rollback", R"({"reason":""})", "reason"},
      {http::verb::post, "/admin/v1/models/m/rollback", R"({"reason":"   "})", "reason"},
      {http::verb::post, "/admin/v1/models/m/rollback", R"({"reason":42})", "reason"},
      {http::verb::post, "/admin/v1/models/m/rollback", R"({"reason":")" + long_reason + R"("})", "reason"},
      {http::verb::post, "/admin/v1/models/m/rollback", R"({"reason":"r","resaon":"typo"})", "resaon"},
      {http::verb::post, "/admin/v1/models/m/resume", R"({"why":"r"})", "why"},
      {http::verb::put, "/admin/v1/models/m/weight", R"({"reason":"r"})", "weight_percent"},
      {http::verb::put, "/admin/v1/models/m/weight", R"({"weight_percent":5})", "reason"},
      {http::verb::put, "/admin/v1/models/m/weight", R"({"weight_percent":100.5,"reason":"r"})", "weight_percent"},
      {http::verb::put, "/admin/v1/models/m/weight", R"({"weight_percent":-1,"reason":"r"})", "weight_percent"},
      {http::verb::put, "/admin/v1/models/m/weight", R"({"weight_percent":"5","reason":"r"})", "weight_percent"},
      {http::verb::put, "/admin/v1/models/m/weight", R"({"weight":5,"reason":"r"})", "weight"},
      {http::verb::post, "/admin/v1/models//rollback", R"({"reason":"r"})", "model"},
  };
  for (const auto& c : cases) {
    AdminResponse res = f.call(request(c.method, c.target, c.body));
    INFO(c.target << " " << c.body.substr(0, 80) << " -> " << res.body());
    CHECK(res.result_int() == 400);
    CHECK(param_of(res) == c.param);
    CHECK(error_of(res).at("type").as_string() == "invalid_request_error");
  }
  CHECK(f.control.calls.empty());

  // The limit itself is allowed, counted in characters (a 3-byte character counts once).
  std::string at_limit;
  for (std::size_t i = 0; i < kMaxAdminReasonChars; ++i) at_limit += "\xe2\x82\xac";  // U+20AC
  CHECK(f.call(request(http::verb::post, "/admin/v1/models/m/rollback", R"({"reason":")" + at_limit + R"("})")).result_int() == 200);
  CHECK(f.control.calls.size() == 1);
}

TEST_CASE("admin API without a rollout control answers 503 after the token check", "[admin]") {
  Fixture f;
  AdminResponse res = f.call(request(http::verb::get, "/admin/v1/state"), kToken, false);
  CHECK(res.result_int() == 503);
  CHECK(error_of(res).at("code").as_string() == "rollout_control_unavailable");
  CHECK(f.call(request(http::verb::post, "/admin/v1/models/m/rollback", R"({"reason":"r"})"), kToken, false).result_int() == 503);
  CHECK(f.call(request(http::verb::get, "/admin/v1/state", {}, "Bearer nope"), kToken, false).result_int() == 401);
}

TEST_CASE("admin API writes one admin_action line per mutating call, never the token", "[admin]") {
  Fixture f;
  std::string out = capture_stdout([&] {
    f.call(request(http::verb::post, "/admin/v1/models/org%2Fm/rollback", R"({"reason":"bad answers on deep schemas"})"));
    f.call(request(http::verb::put, "/admin/v1/models/m/weight", R"({"weight_percent":2.5,"reason":"slower"})"));
    f.call(request(http::verb::post, "/admin/v1/models/m/resume", R"({"reason":"x"})", "Bearer " + kToken + "x"));
    f.call(request(http::verb::post, "/admin/v1/models/m/resume", R"({"reason":"x"})"), std::nullopt);
    f.call(request(http::verb::get, "/admin/v1/state"));  // not mutating: no line
  });
  std::vector<json::object> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    json::value v = json::parse(out.substr(start, nl - start));
    if (v.as_object().at("event").as_string() == "admin_action") lines.push_back(v.as_object());
  }
  INFO(out);
  CHECK(out.find(kToken) == std::string::npos);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].at("action").as_string() == "rollback");
  CHECK(lines[0].at("model").as_string() == "org/m");
  CHECK(lines[0].at("reason").as_string() == "bad answers on deep schemas");
  CHECK(lines[0].at("client").as_string() == "127.0.0.1:5555");
  CHECK(lines[0].at("status").as_int64() == 200);
  CHECK(lines[0].at("result").as_string() == "accepted");
  CHECK(lines[1].at("action").as_string() == "set_weight");
  CHECK(lines[1].at("weight_percent").as_double() == 2.5);
  CHECK(lines[2].at("action").as_string() == "resume");
  CHECK(lines[2].at("status").as_int64() == 401);
  CHECK(lines[2].at("result").as_string() == "refused");
  CHECK(lines[3].at("status").as_int64() == 403);
}
