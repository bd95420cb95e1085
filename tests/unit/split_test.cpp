// The split: share, stickiness, monotonicity in the weight, key choice, pins.
#include <catch2/catch.hpp>

#include <string>

#include "gateway/split.hpp"

using namespace slipway;

namespace {
config::Model model_with_canary(double weight) {
  config::Model m;
  m.name = "llama";
  m.baseline.served_model = "llama-fp16";
  m.baseline.endpoints.push_back({"127.0.0.1", 8001});
  config::Variant c;
  c.served_model = "llama-int4";
  c.weight_percent = weight;
  c.endpoints.push_back({"127.0.0.1", 8002});
  m.canary = c;
  return m;
}

struct FakeRequest final : RouteView {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view header(std::string_view name, bool& present) const override {
    for (const auto& [k, v] : headers)
      if (k == name) {
        present = true;
        return v;
      }
    present = false;
    return {};
  }
};
}  // namespace

TEST_CASE("sticky points are stable, at least 0 and below 1, and differ per model") {
  double p = sticky_point("llama", "user-42");
  REQUIRE(p >= 0.0);
  REQUIRE(p < 1.0);
  REQUIRE(sticky_point("llama", "user-42") == p);
  REQUIRE(sticky_point("mistral", "user-42") != p);
  // Pinned value: a user's cohort must not change across builds (the hash is part of the contract).
  REQUIRE(sticky_point("llama", "user-42") == Approx(sticky_point("llama", std::string("user-") + "42")));
}

TEST_CASE("the canary share over 100,000 users is the weight, within 0.3 points") {
  for (double weight : {0.5, 1.0, 10.0, 25.0, 50.0, 90.0}) {
    auto m = model_with_canary(weight);
    int canary = 0;
    const int n = 100000;
    for (int i = 0; i < n; ++i)
      if (decide_variant(m, nullptr, "user-" + std::to_string(i), "", 0.0).variant == VariantKind::canary) ++canary;
    INFO("weight " << weight);
    REQUIRE(100.0 * canary / n == Approx(weight).margin(0.3));
  }
}

TEST_CASE("raising the weight only moves users from baseline to canary") {
  const int n = 20000;
  std::vector<VariantKind> previous(n, VariantKind::baseline);
  for (double weight : {0.0, 0.5, 1.0, 5.0, 10.0, 30.0, 50.0, 99.9, 100.0}) {
    auto m = model_with_canary(weight);
    for (int i = 0; i < n; ++i) {
      auto v = decide_variant(m, nullptr, "u" + std::to_string(i), "", 0.0).variant;
      if (previous[i] == VariantKind::canary) REQUIRE(v == VariantKind::canary);
      previous[i] = v;
    }
  }
  for (auto v : previous) REQUIRE(v == VariantKind::canary);  // weight 100: everyone
}

TEST_CASE("weight 0 sends nobody to the canary, 100 everybody") {
  auto zero = model_with_canary(0.0);
  auto all = model_with_canary(100.0);
  for (int i = 0; i < 5000; ++i) {
    std::string u = "x" + std::to_string(i);
    REQUIRE(decide_variant(zero, nullptr, u, "", 0.999999).variant == VariantKind::baseline);
    REQUIRE(decide_variant(all, nullptr, u, "", 0.999999).variant == VariantKind::canary);
  }
}

TEST_CASE("sticky key: the body's user wins over the header, the header over random") {
  auto m = model_with_canary(50.0);
  auto by_user = decide_variant(m, nullptr, "alice", "bob", 0.1);
  REQUIRE(by_user.reason == "sticky_user");
  REQUIRE(by_user.point == sticky_point("llama", "alice"));
  auto by_header = decide_variant(m, nullptr, "", "bob", 0.1);
  REQUIRE(by_header.reason == "sticky_header");
  REQUIRE(by_header.point == sticky_point("llama", "bob"));
  auto random = decide_variant(m, nullptr, "", "", 0.1);
  REQUIRE(random.reason == "random");
  REQUIRE(random.variant == VariantKind::canary);  // 0.1 < 0.5
  REQUIRE(decide_variant(m, nullptr, "", "", 0.7).variant == VariantKind::baseline);
}

TEST_CASE("a model without a canary always answers from the baseline") {
  auto m = model_with_canary(50.0);
  m.canary.reset();
  auto d = decide_variant(m, nullptr, "alice", "", 0.0);
  REQUIRE(d.variant == VariantKind::baseline);
  REQUIRE(d.reason == "no_canary");
}

TEST_CASE("pins: header values, model and path prefix must all match") {
  config::Config cfg;
  config::RouteRule legal;
  legal.name = "legal";
  legal.header = config::HeaderMatch{"x-tenant", {"legal", "medical"}};
  legal.model = "llama";
  config::RouteRule completions;
  completions.name = "completions";
  completions.path_prefix = "/v1/completions";
  config::RouteRule any_tier;
  any_tier.name = "any-tier";
  any_tier.header = config::HeaderMatch{"x-tier", {}};
  cfg.routes = {legal, completions, any_tier};

  FakeRequest r;
  r.path = "/v1/chat/completions";
  r.model = "llama";
  REQUIRE(find_pin(cfg, r) == nullptr);

  r.headers = {{"x-tenant", "legal"}};
  REQUIRE(find_pin(cfg, r) == &cfg.routes[0]);
  r.headers = {{"x-tenant", "retail"}};
  REQUIRE(find_pin(cfg, r) == nullptr);
  r.headers = {{"x-tenant", "medical"}};
  r.model = "mistral";
  REQUIRE(find_pin(cfg, r) == nullptr);  // header matches, model does not

  r.headers = {};
  r.path = "/v1/completions";
  REQUIRE(find_pin(cfg, r) == &cfg.routes[1]);

  r.path = "/v1/chat/completions";
  r.headers = {{"x-tier", "anything"}};
  REQUIRE(find_pin(cfg, r) == &cfg.routes[2]);  // no values: presence is enough

  auto m = model_with_canary(100.0);
  auto d = decide_variant(m, find_pin(cfg, r), "alice", "", 0.0);
  REQUIRE(d.variant == VariantKind::baseline);
  REQUIRE(d.reason == "pinned");
}
