// Unit tests for the model's `shadow` block (config/config_parser.cpp) and the shadow_disagreement_rate
// trigger (config/rollout_parser.cpp).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config/config.hpp"

using namespace slipway::config;
using Catch::Matchers::Contains;

namespace {

ParseResult parse(const std::string& yaml) { return parse_config(yaml, "test.yaml"); }

std::vector<std::string> errors(const std::string& yaml) {
  std::vector<std::string> out;
  for (const auto& e : parse(yaml).errors) out.push_back(e.to_string());
  return out;
}

// Line 4 is the shadow block.
std::string model_with(const std::string& shadow, bool canary = true) {
  return "models:\n"
         "  - name: m\n"
         "    baseline: {endpoints: [\"h:1\"]}\n" +
         std::string(canary ? "    canary: {endpoints: [\"h:2\"], weight: 0}\n" : "    # no canary\n") +
         "    shadow: " + shadow + "\n";
}

}  // namespace

TEST_CASE("config shadow: sample and max_inflight are read", "[config][shadow]") {
  auto r = parse(model_with("{sample: 0.05, max_inflight: 32}"));
  REQUIRE(r.errors.empty());
  const auto& m = r.config->models.at(0);
  REQUIRE(m.shadow);
  CHECK(m.shadow->sample == Approx(0.05));
  CHECK(m.shadow->max_inflight == 32);
}

TEST_CASE("config shadow: defaults and absence", "[config][shadow]") {
  auto r = parse(model_with("{sample: 1}"));
  REQUIRE(r.errors.empty());
  CHECK(r.config->models[0].shadow->max_inflight == 32);
  auto none = parse("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"]}\n");
  REQUIRE(none.errors.empty());
  CHECK_FALSE(none.config->models[0].shadow);
}

TEST_CASE("config shadow: errors name the key and the line", "[config][shadow]") {
  auto e = errors(model_with("{sample: 1.5}"));
  REQUIRE(e.size() == 1);
  CHECK_THAT(e[0], Contains("models[0].shadow.sample") && Contains("(line 5)"));

  e = errors(model_with("{sample: 0.1, max_inflight: 0}"));
  REQUIRE(e.size() == 1);
  CHECK_THAT(e[0], Contains("models[0].shadow.max_inflight") && Contains("(line 5)"));

  e = errors(model_with("{sample: 0.1, max_inflight: 10001}"));
  REQUIRE(e.size() == 1);
  CHECK_THAT(e[0], Contains("models[0].shadow.max_inflight"));

  e = errors(model_with("{sampel: 0.1}"));  // a misspelt key, and so no sample
  REQUIRE(e.size() == 2);
  CHECK_THAT(e[0] + "\n" + e[1], Contains("sampel") && Contains("models[0].shadow.sample: required"));

  e = errors(model_with("{sample: 0.1}", /*canary=*/false));
  REQUIRE(e.size() == 1);
  CHECK_THAT(e[0], Contains("models[0].shadow: needs a canary") && Contains("(line 5)"));
}

TEST_CASE("config shadow: shadow_disagreement_rate is a rate trigger that needs the shadow block", "[config][shadow]") {
  const std::string rollout =
      "    rollout:\n"
      "      revision: r1\n"
      "      triggers:\n"
      "        - {name: shadow, sli: shadow_disagreement_rate, slice: all, window: 1m, min_samples: 20, tolerance: {absolute: 0.1}}\n";
  auto r = parse(model_with("{sample: 1}") + rollout);
  INFO((r.errors.empty() ? std::string() : r.errors[0].to_string()));
  REQUIRE(r.errors.empty());
  const auto& t = r.config->models[0].rollout->triggers.at(0);
  CHECK(t.sli == TriggerSli::shadow_disagreement_rate);
  CHECK(t.tolerance_abs == Approx(0.1));

  auto without = errors("models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"]}\n"
                        "    canary: {endpoints: [\"h:2\"], weight: 0}\n" + rollout);
  REQUIRE(without.size() == 1);
  CHECK_THAT(without[0], Contains("sli: shadow_disagreement_rate needs the model's shadow block"));
}
