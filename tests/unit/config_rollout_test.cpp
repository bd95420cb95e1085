// Unit tests for the rollout keys of the config (config/rollout_parser.cpp): models[].rollout (triggers,
// steps), alerting, state_dir, rollout_evaluate_every and admin.token_file. Every rule has a test that
// checks the key path and the line of its error.
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

std::vector<std::string> errors_of(const std::string& yaml) {
  ParseResult r = parse_config(yaml, "test.yaml");
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.to_string());
  if (!r.errors.empty()) CHECK(r.config == nullptr);
  return out;
}

// The single error a document produces.
std::string error_of(const std::string& yaml) {
  auto errs = errors_of(yaml);
  INFO("document:\n" << yaml);
  INFO("errors: " << errs.size() << (errs.empty() ? "" : "\nfirst: " + errs[0]));
  REQUIRE(errs.size() == 1);
  return errs[0];
}

std::shared_ptr<const Config> ok(const std::string& yaml) {
  ParseResult r = parse_config(yaml, "test.yaml");
  std::string all;
  for (const auto& e : r.errors) all += e.to_string() + "\n";
  INFO("document:\n" << yaml << "\nerrors:\n" << all);
  REQUIRE(r.errors.empty());
  REQUIRE(r.config != nullptr);
  return r.config;
}

std::string indent(const std::string& text, int spaces) {
  std::string out, pad(spaces, ' ');
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += pad + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

// Lines 1-7 are slices and a priced model with a 10 % canary; `rollout:` is line 8, `body` starts on line 9.
std::string with_rollout(const std::string& body, const std::string& canary =
                             "{endpoints: [\"h:2\"], weight: 10, price: {prompt_per_1k: 0.05, completion_per_1k: 0.1}}") {
  return "slices:\n"
         "  - {name: deep_schema, schema_depth_at_least: 3}\n"
         "  - {name: tools, tools_at_least: 1}\n"
         "models:\n"
         "  - name: chat\n"
         "    baseline: {endpoints: [\"h:1\"], price: {prompt_per_1k: 0.1, completion_per_1k: 0.2}}\n" +
         (canary.empty() ? std::string("    # no canary\n") : "    canary: " + canary + "\n") +
         "    rollout:\n" + indent(body, 6);
}

// One trigger, written as a flow mapping's fields, on line 11.
std::string with_trigger(const std::string& fields) {
  return with_rollout("revision: r1\ntriggers:\n  - {" + fields + "}");
}

// A valid document plus top-level sections (after the models block, from line 4 on).
std::string with_top(const std::string& sections) {
  return "models:\n  - name: m\n    baseline: {endpoints: [\"h:1\"]}\n" + sections;
}

struct EnvVar {
  std::string name;
  EnvVar(std::string n, const char* value) : name(std::move(n)) {
    if (value) ::setenv(name.c_str(), value, 1);
    else ::unsetenv(name.c_str());
  }
  ~EnvVar() { ::unsetenv(name.c_str()); }
};

// A temporary file with the given content, removed at the end of the test.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/slipway-config-rollout-XXXXXX";
    const int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::close(fd);
    path = name;
  }
  ~TempFile() { ::unlink(path.c_str()); }
};

}  // namespace

TEST_CASE("config rollout: a full rollout block is read field by field", "[config][rollout]") {
  EnvVar secret("SLIPWAY_TEST_WEBHOOK_SECRET", "hmac-key");
  auto c = ok(R"(state_dir: /var/lib/slipway
rollout_evaluate_every: 500ms
slices:
  - {name: deep_schema, schema_depth_at_least: 3}
  - {name: tools, tools_at_least: 1}
models:
  - name: chat
    baseline: {endpoints: ["h:1"], price: {prompt_per_1k: 0.1, completion_per_1k: 0.2}}
    canary: {endpoints: ["h:2"], weight: 50, price: {prompt_per_1k: 0.05, completion_per_1k: 0.1}}
    rollout:
      revision: "2026-11-23.1"
      bucket: 5s
      steps:
        - {weight: 1, hold: 10m}
        - {weight: 5, hold: 1h}
        - {weight: 25}
        - {weight: 50, hold: 1s}
      triggers:
        - name: schema_compliance
          sli: validation_failure_rate
          slice: each
          window: 2m
          min_samples: 100
          tolerance: {absolute: 0.02, relative: 0.1}
          confidence: 0.999
          direction: higher_is_worse
        - {name: refusals, sli: refusal_rate, slice: tools, direction: either}
        - {name: p99, sli: latency_p99, tolerance: {relative: 0.2}}
        - {name: ttft, sli: ttft_p95}
        - {name: slow_median, sli: latency, quantile: 0.5}
        - {name: long_answers, sli: output_tokens, quantile: 0.9, slice: deep_schema}
        - {name: cost, sli: cost_per_success}
        - {name: tools_broken, sli: tool_call_failure_rate, direction: lower_is_worse}
        - {name: cut_off, sli: truncation_rate}
        - {name: upstream, sli: upstream_error_rate, confidence: 0.5}
        - {name: first_token, sli: time_to_first_token, quantile: 0.75}
alerting:
  alertmanager: {url: "http://127.0.0.1:9093/"}
  webhook: {url: "http://pager.internal/hook", secret_env: SLIPWAY_TEST_WEBHOOK_SECRET}
  runbook_url: "https://wiki.example/runbooks/slipway#rollback"
  generator_url: "http://10.0.0.2:9464/admin/state"
  resend_every: 2m
  timeout: 3s
)");
  CHECK(c->state_dir == "/var/lib/slipway");
  CHECK(c->rollout_evaluate_every == 500ms);
  REQUIRE(c->models.size() == 1);
  REQUIRE(c->models[0].rollout);
  const Rollout& ro = *c->models[0].rollout;
  CHECK(ro.revision == "2026-11-23.1");
  CHECK(ro.bucket == 5s);
  REQUIRE(ro.steps.size() == 4);
  CHECK(ro.steps[0] == RolloutStep{1.0, 10min});
  CHECK(ro.steps[1] == RolloutStep{5.0, 1h});
  CHECK(ro.steps[2] == RolloutStep{25.0, 10min});  // hold defaults to 10m
  CHECK(ro.steps[3] == RolloutStep{50.0, 1s});
  REQUIRE(ro.triggers.size() == 11);

  const Trigger& t0 = ro.triggers[0];
  CHECK(t0.name == "schema_compliance");
  CHECK(t0.sli == TriggerSli::validation_failure_rate);
  CHECK(t0.slice == "each");
  CHECK(t0.window == 2min);
  CHECK(t0.min_samples == 100);
  CHECK(t0.tolerance_abs == 0.02);
  CHECK(t0.tolerance_rel == 0.1);
  CHECK(t0.confidence == 0.999);
  CHECK(t0.direction == TriggerDirection::higher_is_worse);

  const Trigger& t1 = ro.triggers[1];
  CHECK(t1.sli == TriggerSli::refusal_rate);
  CHECK(t1.slice == "tools");
  CHECK(t1.direction == TriggerDirection::either);
  // Defaults.
  CHECK(t1.window == 30min);
  CHECK(t1.min_samples == 500);
  CHECK(t1.tolerance_abs == 0.0);
  CHECK(t1.tolerance_rel == 0.0);
  CHECK(t1.confidence == 0.999);

  CHECK(ro.triggers[2].sli == TriggerSli::latency);
  CHECK(ro.triggers[2].quantile == 0.99);
  CHECK(ro.triggers[2].tolerance_rel == 0.2);
  CHECK(ro.triggers[2].slice == "all");
  CHECK(ro.triggers[3].sli == TriggerSli::time_to_first_token);
  CHECK(ro.triggers[3].quantile == 0.95);
  CHECK(ro.triggers[4].sli == TriggerSli::latency);
  CHECK(ro.triggers[4].quantile == 0.5);
  CHECK(ro.triggers[5].sli == TriggerSli::output_tokens);
  CHECK(ro.triggers[5].quantile == 0.9);
  CHECK(ro.triggers[5].slice == "deep_schema");
  CHECK(ro.triggers[6].sli == TriggerSli::cost_per_success);
  CHECK(ro.triggers[6].quantile == 0.95);  // the default quantile
  CHECK(ro.triggers[7].sli == TriggerSli::tool_call_failure_rate);
  CHECK(ro.triggers[7].direction == TriggerDirection::lower_is_worse);
  CHECK(ro.triggers[8].sli == TriggerSli::truncation_rate);
  CHECK(ro.triggers[9].sli == TriggerSli::upstream_error_rate);
  CHECK(ro.triggers[9].confidence == 0.5);
  CHECK(ro.triggers[10].sli == TriggerSli::time_to_first_token);
  CHECK(ro.triggers[10].quantile == 0.75);

  REQUIRE(c->alerting);
  const Alerting& a = *c->alerting;
  REQUIRE(a.alertmanager);
  CHECK(a.alertmanager->url == "http://127.0.0.1:9093");  // the trailing "/" dropped
  REQUIRE(a.webhook);
  CHECK(a.webhook->url == "http://pager.internal:80/hook");  // the port written out
  CHECK(a.webhook->secret_env == "SLIPWAY_TEST_WEBHOOK_SECRET");
  CHECK(a.webhook->secret == "hmac-key");
  CHECK(a.runbook_url == "https://wiki.example/runbooks/slipway#rollback");
  CHECK(a.generator_url == "http://10.0.0.2:9464/admin/state");
  CHECK(a.resend_every == 2min);
  CHECK(a.timeout == 3s);
}

TEST_CASE("config rollout: defaults", "[config][rollout]") {
  auto c = ok(with_trigger("name: t, sli: validation_failure_rate"));
  CHECK(c->state_dir.empty());
  CHECK(c->rollout_evaluate_every == 1s);
  CHECK_FALSE(c->alerting);
  REQUIRE(c->models[0].rollout);
  const Rollout& ro = *c->models[0].rollout;
  CHECK(ro.revision == "r1");
  CHECK(ro.bucket == 10s);
  CHECK(ro.steps.empty());
  REQUIRE(ro.triggers.size() == 1);
  CHECK(ro.triggers[0] == Trigger{.name = "t"});  // every other field at the struct's default
  CHECK(ro.triggers[0].window == 30min);

  auto plain = ok(with_top(""));
  CHECK_FALSE(plain->models[0].rollout);
  CHECK(ok(with_top("state_dir: \"\"\n"))->state_dir.empty());

  auto am = ok(with_top("alerting: {alertmanager: {url: \"http://[::1]:9093\"}}\n"));
  REQUIRE(am->alerting);
  CHECK(am->alerting->alertmanager->url == "http://[::1]:9093");
  CHECK_FALSE(am->alerting->webhook);
  CHECK(am->alerting->runbook_url == "docs/runbook.md#canary-rolled-back");
  CHECK(am->alerting->generator_url.empty());
  CHECK(am->alerting->resend_every == 1min);
  CHECK(am->alerting->timeout == 5s);

  auto wh = ok(with_top("alerting: {webhook: {url: \"http://10.0.0.9:8080/hooks/slipway\"}}\n"));
  REQUIRE(wh->alerting);
  CHECK_FALSE(wh->alerting->alertmanager);
  CHECK(wh->alerting->webhook->url == "http://10.0.0.9:8080/hooks/slipway");
  CHECK(wh->alerting->webhook->secret_env.empty());
  CHECK_FALSE(wh->alerting->webhook->secret);
}

TEST_CASE("config rollout: a rollout needs a canary", "[config][rollout]") {
  CHECK(error_of(with_rollout("revision: r1\ntriggers: [{name: t, sli: refusal_rate}]", "")) ==
        "models[0].rollout: needs a canary: a rollout judges the canary against the baseline (line 8)");
}

TEST_CASE("config rollout: revision and triggers are required", "[config][rollout]") {
  CHECK(error_of(with_rollout("triggers: [{name: t, sli: refusal_rate}]")) ==
        "models[0].rollout.revision: required (a string such as \"2026-11-23.1\"; a new value resumes a latched "
        "rollback) (line 8)");
  CHECK(error_of(with_rollout("revision: \"\"\ntriggers: [{name: t, sli: refusal_rate}]")) ==
        "models[0].rollout.revision: must be 1..128 printable characters (e.g. a date and a counter, "
        "\"2026-11-23.1\") (line 9)");
  CHECK(error_of(with_rollout("revision: [a]\ntriggers: [{name: t, sli: refusal_rate}]")) ==
        "models[0].rollout.revision: expected a string, got a list (line 9)");
  CHECK(error_of(with_rollout("revision: r1")).starts_with("models[0].rollout.triggers: required (at least one trigger"));
  CHECK(error_of(with_rollout("revision: r1\ntriggers: []")) ==
        "models[0].rollout.triggers: needs at least one trigger (line 10)");
  CHECK(error_of(with_rollout("revision: r1\ntriggers: {name: t}")) ==
        "models[0].rollout.triggers: expected a list of triggers, got a mapping (line 10)");
  CHECK(error_of(with_trigger("sli: refusal_rate")).starts_with("models[0].rollout.triggers[0].name: required"));
  CHECK(error_of(with_trigger("name: t")) ==
        "models[0].rollout.triggers[0].sli: required (e.g. validation_failure_rate or latency_p95) (line 11)");
  // An empty `rollout:` is an error (a rollout with no triggers judges nothing).
  CHECK(error_of(with_rollout("")) == "models[0].rollout: expected a mapping, got nothing (line 8)");

  std::string many = "revision: r1\ntriggers:\n";
  for (int i = 0; i < 33; ++i) many += "  - {name: t" + std::to_string(i) + ", sli: refusal_rate}\n";
  CHECK(error_of(with_rollout(many)) == "models[0].rollout.triggers: at most 32 triggers per model, got 33 (line 11)");
}

TEST_CASE("config rollout: unknown keys at every level", "[config][rollout]") {
  CHECK(error_of(with_rollout("revision: r1\nbuckets: 5s\ntriggers: [{name: t, sli: refusal_rate}]")) ==
        "models[0].rollout: unknown key \"buckets\" (did you mean \"bucket\"?) (line 10)");
  CHECK(error_of(with_trigger("name: t, sli: refusal_rate, windw: 1m")) ==
        "models[0].rollout.triggers[0]: unknown key \"windw\" (did you mean \"window\"?) (line 11)");
  CHECK(error_of(with_trigger("name: t, sli: refusal_rate, tolerance: {abs: 0.1}")) ==
        "models[0].rollout.triggers[0].tolerance: unknown key \"abs\" (line 11)");
  CHECK(error_of(with_rollout("revision: r1\nsteps: [{weight: 1, hodl: 1m}]\ntriggers: [{name: t, sli: refusal_rate}]")) ==
        "models[0].rollout.steps[0]: unknown key \"hodl\" (did you mean \"hold\"?) (line 10)");
  CHECK(error_of(with_top("alerting: {alertmanager: {url: \"http://h:1\"}, resend: 1m}\n")) ==
        "alerting: unknown key \"resend\" (line 4)");
  CHECK(error_of(with_top("alerting: {alertmanager: {url: \"http://h:1\", path: /x}}\n")) ==
        "alerting.alertmanager: unknown key \"path\" (line 4)");
  CHECK(error_of(with_top("alerting: {webhook: {url: \"http://h:1\", secret: x}}\n")) ==
        "alerting.webhook: unknown key \"secret\" (line 4)");
  CHECK(error_of(with_top("alertng: {}\n")) == "unknown key \"alertng\" (did you mean \"alerting\"?) (line 4)");
  CHECK(error_of(with_top("state_dri: /tmp\n")) == "unknown key \"state_dri\" (did you mean \"state_dir\"?) (line 4)");
}

TEST_CASE("config rollout: bucket", "[config][rollout]") {
  auto rollout = [](const std::string& bucket) {
    return with_rollout("revision: r1\nbucket: " + bucket + "\ntriggers: [{name: t, sli: refusal_rate, window: 20m}]");
  };
  CHECK(ok(rollout("1s"))->models[0].rollout->bucket == 1s);
  CHECK(ok(rollout("10m"))->models[0].rollout->bucket == 10min);
  CHECK(error_of(rollout("500ms")) == "models[0].rollout.bucket: must be between 1s and 10m, got 500ms (line 10)");
  CHECK(error_of(rollout("11m")) == "models[0].rollout.bucket: must be between 1s and 10m, got 11m (line 10)");
  CHECK(error_of(rollout("soon")) == "models[0].rollout.bucket: expected a duration like 10s, got \"soon\" (line 10)");
}

TEST_CASE("config rollout: steps", "[config][rollout]") {
  auto steps = [](const std::string& list) {
    return with_rollout("revision: r1\nsteps: " + list + "\ntriggers: [{name: t, sli: refusal_rate}]");
  };
  CHECK(ok(steps("[]"))->models[0].rollout->steps.empty());
  CHECK(ok(steps("[{weight: 0.5}, {weight: 10}]"))->models[0].rollout->steps.size() == 2);
  CHECK(error_of(steps("[{weight: 5}, {weight: 5}]")) ==
        "models[0].rollout.steps[1].weight: step weights must increase strictly (5 after 5) (line 10)");
  CHECK(error_of(steps("[{weight: 5}, {weight: 1}]")) ==
        "models[0].rollout.steps[1].weight: step weights must increase strictly (1 after 5) (line 10)");
  CHECK(error_of(steps("[{weight: 0}]")) ==
        "models[0].rollout.steps[0].weight: must be more than 0 (a step with no traffic would never gather its "
        "minimum sample) (line 10)");
  CHECK(error_of(steps("[{weight: 1}, {weight: 25}]")) ==
        "models[0].rollout.steps[1].weight: must not exceed the canary's weight (25 > 10); the last step may equal "
        "it (line 10)");
  CHECK(error_of(steps("[{weight: 101}]")) == "models[0].rollout.steps[0].weight: must be between 0 and 100, got 101 (line 10)");
  CHECK(error_of(steps("[{hold: 1m}]")) ==
        "models[0].rollout.steps[0].weight: required (the canary's percent of traffic during this step) (line 10)");
  CHECK(error_of(steps("[{weight: 1, hold: 500ms}]")) ==
        "models[0].rollout.steps[0].hold: must be between 1s and 168h, got 500ms (line 10)");
  CHECK(error_of(steps("[{weight: 1, hold: 0}]")) == "models[0].rollout.steps[0].hold: must be between 1s and 168h, got 0 (line 10)");
  CHECK(error_of(steps("5")) ==
        "models[0].rollout.steps: expected a list of steps like [{weight: 1, hold: 10m}], got \"5\" (line 10)");
  // Block style: the line is the offending step's own line.
  CHECK(error_of(with_rollout("revision: r1\nsteps:\n  - {weight: 1}\n  - {weight: 1}\ntriggers: [{name: t, sli: refusal_rate}]")) ==
        "models[0].rollout.steps[1].weight: step weights must increase strictly (1 after 1) (line 12)");
}

TEST_CASE("config rollout: trigger names", "[config][rollout]") {
  CHECK(error_of(with_trigger("name: Schema-Compliance, sli: refusal_rate")) ==
        "models[0].rollout.triggers[0].name: must be 1..64 characters of a-z, 0-9 and _ (it becomes a metric and alert "
        "label), got \"Schema-Compliance\" (line 11)");
  CHECK(error_of(with_trigger("name: \"\", sli: refusal_rate")).starts_with("models[0].rollout.triggers[0].name: must be 1..64"));
  CHECK(error_of(with_rollout("revision: r1\ntriggers:\n  - {name: t, sli: refusal_rate}\n  - {name: t, sli: truncation_rate}")) ==
        "models[0].rollout.triggers[1].name: duplicate trigger name \"t\" in this model (first at line 11) (line 12)");
  // The same name in two models is fine (the model is a label too).
  auto two = ok(with_trigger("name: t, sli: refusal_rate") +
                "  - name: other\n    baseline: {endpoints: [\"h:3\"]}\n    canary: {endpoints: [\"h:4\"], weight: 1}\n"
                "    rollout: {revision: x, triggers: [{name: t, sli: refusal_rate}]}\n");
  CHECK(two->models[1].rollout->triggers[0].name == "t");
}

TEST_CASE("config rollout: SLIs and shorthands", "[config][rollout]") {
  auto sli = [](const std::string& s) { return ok(with_trigger("name: t, sli: " + s))->models[0].rollout->triggers[0]; };
  CHECK(sli("latency_p95").sli == TriggerSli::latency);
  CHECK(sli("latency_p95").quantile == 0.95);
  CHECK(sli("latency_p99").quantile == 0.99);
  CHECK(sli("ttft_p95").sli == TriggerSli::time_to_first_token);
  CHECK(sli("ttft_p99").quantile == 0.99);
  // The message lists every SLI name (the list grows with the SLIs; check its ends and a few names).
  const std::string unknown = error_of(with_trigger("name: t, sli: validation_failure"));
  CHECK(unknown.starts_with("models[0].rollout.triggers[0].sli: must be one of validation_failure_rate, "));
  CHECK(unknown.ends_with(", got \"validation_failure\" (line 11)"));
  for (const char* name : {"refusal_rate", "cost_per_success", "latency_p99", "ttft_p95"})
    CHECK(unknown.find(std::string(" ") + name + ",") != std::string::npos);
  CHECK(error_of(with_trigger("name: t, sli: latency_p59")).ends_with(
        "got \"latency_p59\" (did you mean \"latency_p95\"?) (line 11)"));
  CHECK(error_of(with_trigger("name: t, sli: latency_p95, quantile: 0.9")) ==
        "models[0].rollout.triggers[0].quantile: sli latency_p95 sets the quantile already; write the SLI's long "
        "name (e.g. latency) to choose another (line 11)");
}

TEST_CASE("config rollout: cost_per_success needs a price on both variants", "[config][rollout]") {
  CHECK(error_of(with_rollout("revision: r1\ntriggers: [{name: cost, sli: cost_per_success}]",
                              "{endpoints: [\"h:2\"], weight: 10}")) ==
        "models[0].rollout.triggers[0].sli: cost_per_success needs a price on both variants (canary.price is "
        "missing) (line 10)");
  const std::string no_baseline_price =
      "models:\n"
      "  - name: chat\n"
      "    baseline: {endpoints: [\"h:1\"]}\n"
      "    canary: {endpoints: [\"h:2\"], weight: 10, price: {prompt_per_1k: 1, completion_per_1k: 1}}\n"
      "    rollout:\n"
      "      revision: r1\n"
      "      triggers:\n"
      "        - {name: cost, sli: cost_per_success}\n";
  CHECK(error_of(no_baseline_price) ==
        "models[0].rollout.triggers[0].sli: cost_per_success needs a price on both variants (baseline.price is "
        "missing) (line 8)");
}

TEST_CASE("config rollout: direction and quantile belong to their kind of SLI", "[config][rollout]") {
  CHECK(error_of(with_trigger("name: t, sli: latency_p95, direction: either")) ==
        "models[0].rollout.triggers[0].direction: only rate SLIs take a direction; a latency_p95 trigger fires when "
        "the canary's quantile is higher than the baseline's (line 11)");
  CHECK(error_of(with_trigger("name: t, sli: output_tokens, direction: higher_is_worse")).starts_with(
        "models[0].rollout.triggers[0].direction: only rate SLIs take a direction"));
  CHECK(error_of(with_trigger("name: t, sli: validation_failure_rate, quantile: 0.95")) ==
        "models[0].rollout.triggers[0].quantile: only distribution SLIs (latency, time_to_first_token, "
        "output_tokens, cost_per_success) take a quantile; validation_failure_rate is a rate (line 11)");
  CHECK(error_of(with_trigger("name: t, sli: latency, tolerance: {absolute: 0.1}")) ==
        "models[0].rollout.triggers[0].tolerance.absolute: only rate SLIs take an absolute tolerance; a latency "
        "trigger takes tolerance.relative (0.1 = 10 % above the baseline) (line 11)");
  CHECK(error_of(with_trigger("name: t, sli: refusal_rate, direction: sideways")) ==
        "models[0].rollout.triggers[0].direction: must be one of higher_is_worse, lower_is_worse, either, got "
        "\"sideways\" (line 11)");
  CHECK(error_of(with_trigger("name: t, sli: latency, quantile: 0")) ==
        "models[0].rollout.triggers[0].quantile: must be strictly between 0 and 1 (0.95 for p95), got 0 (line 11)");
  CHECK(error_of(with_trigger("name: t, sli: latency, quantile: 1")) ==
        "models[0].rollout.triggers[0].quantile: must be strictly between 0 and 1 (0.95 for p95), got 1 (line 11)");
  CHECK(error_of(with_trigger("name: t, sli: latency, quantile: 95")) ==
        "models[0].rollout.triggers[0].quantile: must be between 0 and 1, got 95 (line 11)");
}

TEST_CASE("config rollout: slices", "[config][rollout]") {
  CHECK(ok(with_trigger("name: t, sli: refusal_rate, slice: all"))->models[0].rollout->triggers[0].slice == "all");
  CHECK(ok(with_trigger("name: t, sli: refusal_rate, slice: each"))->models[0].rollout->triggers[0].slice == "each");
  CHECK(ok(with_trigger("name: t, sli: refusal_rate, slice: tools"))->models[0].rollout->triggers[0].slice == "tools");
  CHECK(error_of(with_trigger("name: t, sli: refusal_rate, slice: deep_schemas")) ==
        "models[0].rollout.triggers[0].slice: must be all, each or a slice name; no slice named \"deep_schemas\" is "
        "configured (did you mean \"deep_schema\"?) (line 11)");
  const std::string no_slices =
      "models:\n"
      "  - name: chat\n"
      "    baseline: {endpoints: [\"h:1\"]}\n"
      "    canary: {endpoints: [\"h:2\"], weight: 10}\n"
      "    rollout:\n"
      "      revision: r1\n"
      "      triggers:\n"
      "        - {name: t, sli: refusal_rate, slice: each}\n";
  CHECK(error_of(no_slices) ==
        "models[0].rollout.triggers[0].slice: \"each\" tests every named slice, but no slices are configured (see "
        "slices:) (line 8)");
}

TEST_CASE("config rollout: windows fit the bucket and the ring", "[config][rollout]") {
  auto window = [](const std::string& bucket, const std::string& w) {
    return with_rollout("revision: r1\nbucket: " + bucket + "\ntriggers:\n  - {name: t, sli: refusal_rate" +
                        (w.empty() ? "" : ", window: " + w) + "}");
  };
  CHECK(ok(window("10s", "2m"))->models[0].rollout->triggers[0].window == 2min);
  CHECK(ok(window("1m", "24h"))->models[0].rollout->triggers[0].window == 24h);
  CHECK(ok(window("10s", "4h"))->models[0].rollout->triggers[0].window == 4h);  // 1,440 buckets
  CHECK(error_of(window("10s", "25s")) ==
        "models[0].rollout.triggers[0].window: must be a multiple of rollout.bucket (10s), got 25s (line 12)");
  CHECK(error_of(window("10s", "10s")) ==
        "models[0].rollout.triggers[0].window: must be at least two buckets (rollout.bucket is 10s), got 10s (line 12)");
  CHECK(error_of(window("10m", "25h")) ==
        "models[0].rollout.triggers[0].window: must be between 1s and 24h, got 25h (line 12)");
  CHECK(error_of(window("10s", "5h")) ==
        "models[0].rollout.triggers[0].window: at most 1440 buckets (memory), got 5h = 1800 buckets of 10s; "
        "raise rollout.bucket (line 12)");
  // The default window (30m) is checked against the bucket too, at the trigger's line.
  CHECK(error_of(window("7s", "")) ==
        "models[0].rollout.triggers[0].window: must be a multiple of rollout.bucket (7s), got the default window "
        "30m; set window (line 12)");
  CHECK(error_of(window("1s", "")) ==
        "models[0].rollout.triggers[0].window: at most 1440 buckets (memory), got the default window 30m = 1800 "
        "buckets of 1s; raise rollout.bucket or set window (line 12)");
  // A bad bucket is one error, not one more per trigger.
  CHECK(error_of(window("0s", "25s")) == "models[0].rollout.bucket: must be between 1s and 10m, got 0s (line 10)");
}

TEST_CASE("config rollout: min_samples, tolerance, confidence", "[config][rollout]") {
  auto field = [](const std::string& f) { return with_trigger("name: t, sli: refusal_rate, " + f); };
  CHECK(ok(field("min_samples: 10"))->models[0].rollout->triggers[0].min_samples == 10);
  CHECK(error_of(field("min_samples: 9")) ==
        "models[0].rollout.triggers[0].min_samples: must be between 10 and 1000000000, got 9 (line 11)");
  CHECK(error_of(field("min_samples: 1.5")) ==
        "models[0].rollout.triggers[0].min_samples: expected an integer, got \"1.5\" (line 11)");
  CHECK(error_of(field("tolerance: {absolute: -0.01}")) ==
        "models[0].rollout.triggers[0].tolerance.absolute: must be between 0 and 1, got -0.01 (line 11)");
  CHECK(error_of(field("tolerance: {relative: 11}")) ==
        "models[0].rollout.triggers[0].tolerance.relative: must be between 0 and 10, got 11 (line 11)");
  CHECK(error_of(field("tolerance: 0.01")) ==
        "models[0].rollout.triggers[0].tolerance: expected a mapping, got \"0.01\" (line 11)");
  CHECK(error_of(field("confidence: 0.4")) ==
        "models[0].rollout.triggers[0].confidence: must be between 0.5 and 0.999999, got 0.4 (line 11)");
  CHECK(error_of(field("confidence: 1")) ==
        "models[0].rollout.triggers[0].confidence: must be between 0.5 and 0.999999, got 1 (line 11)");
  CHECK(error_of(field("confidence: 99.9%")) ==
        "models[0].rollout.triggers[0].confidence: expected a number, got \"99.9%\" (line 11)");
}

TEST_CASE("config rollout: several errors in one rollout are all reported, in file order", "[config][rollout]") {
  auto errs = errors_of(with_rollout(
      "revision: r1\n"
      "bucket: 10s\n"
      "steps: [{weight: 0}]\n"
      "triggers:\n"
      "  - {name: A, sli: latency_p95, direction: either}\n"
      "  - {name: b, sli: refusal_rate, quantile: 0.5, window: 15s}\n"));
  REQUIRE(errs.size() == 5);
  CHECK(errs[0].starts_with("models[0].rollout.steps[0].weight: must be more than 0"));
  CHECK(errs[1].starts_with("models[0].rollout.triggers[0].name: must be 1..64"));
  CHECK(errs[2].starts_with("models[0].rollout.triggers[0].direction: only rate SLIs"));
  CHECK(errs[3].starts_with("models[0].rollout.triggers[1].window: must be a multiple"));
  CHECK(errs[4].starts_with("models[0].rollout.triggers[1].quantile: only distribution SLIs"));
  CHECK(errs[4].ends_with("(line 14)"));
}

TEST_CASE("config rollout: state_dir and rollout_evaluate_every", "[config][rollout]") {
  CHECK(ok(with_top("state_dir: var/slipway\n"))->state_dir == "var/slipway");  // relative to the working directory
  CHECK(error_of(with_top("state_dir: [a]\n")) == "state_dir: expected a string, got a list (line 4)");
  CHECK(ok(with_top("rollout_evaluate_every: 100ms\n"))->rollout_evaluate_every == 100ms);
  CHECK(ok(with_top("rollout_evaluate_every: 1m\n"))->rollout_evaluate_every == 1min);
  CHECK(error_of(with_top("rollout_evaluate_every: 50ms\n")) ==
        "rollout_evaluate_every: must be between 100ms and 1m, got 50ms (line 4)");
  CHECK(error_of(with_top("rollout_evaluate_every: 2m\n")) ==
        "rollout_evaluate_every: must be between 100ms and 1m, got 2m (line 4)");
}

TEST_CASE("config rollout: alerting receivers", "[config][rollout]") {
  auto am = [](const std::string& url) { return with_top("alerting:\n  alertmanager: {url: \"" + url + "\"}\n"); };
  CHECK(ok(am("http://alertmanager.monitoring:9093"))->alerting->alertmanager->url == "http://alertmanager.monitoring:9093");
  CHECK(error_of(am("https://127.0.0.1:9093")) ==
        "alerting.alertmanager.url: https:// is not supported yet; use http:// (got \"https://127.0.0.1:9093\") (line 5)");
  CHECK(error_of(am("127.0.0.1:9093")) ==
        "alerting.alertmanager.url: must be an http:// URL like http://127.0.0.1:9093, got \"127.0.0.1:9093\" (line 5)");
  CHECK(error_of(am("http://127.0.0.1")) ==
        "alerting.alertmanager.url: needs a host and a port, like http://127.0.0.1:9093 (got \"http://127.0.0.1\") (line 5)");
  CHECK(error_of(am("http://127.0.0.1:9093/api/v2/alerts")) ==
        "alerting.alertmanager.url: must not have a path (got \"/api/v2/alerts\"); slipway adds /api/v2/alerts itself (line 5)");
  CHECK(error_of(am("http://:9093")) == "alerting.alertmanager.url: needs a host (got \":9093\") (line 5)");
  CHECK(error_of(am("http://127.0.0.1:99999")) ==
        "alerting.alertmanager.url: port must be between 1 and 65535, got 99999 (line 5)");
  CHECK(error_of(with_top("alerting:\n  alertmanager: {}\n")) ==
        "alerting.alertmanager.url: required (e.g. http://127.0.0.1:9093) (line 5)");
  CHECK(error_of(with_top("alerting:\n  alertmanager:\n")) == "alerting.alertmanager: expected a mapping, got nothing (line 5)");

  CHECK(error_of(with_top("alerting:\n  webhook: {url: \"https://pager.example/hook\"}\n")) ==
        "alerting.webhook.url: https:// is not supported yet; use http:// (got \"https://pager.example/hook\") (line 5)");
  CHECK(error_of(with_top("alerting:\n  webhook: {url: pager}\n")) ==
        "alerting.webhook.url: must be an http:// URL like http://pager.internal/hook, got \"pager\" (line 5)");
  CHECK(error_of(with_top("alerting:\n  runbook_url: x\n")) ==
        "alerting: needs a receiver: alertmanager, webhook or both (leave alerting out to only log and export) (line 4)");
  CHECK(error_of(with_top("alerting:\n")) ==
        "alerting: needs a receiver: alertmanager, webhook or both (leave alerting out to only log and export) (line 4)");
  const std::string receiver = "alerting:\n  alertmanager: {url: \"http://h:9093\"}\n";
  CHECK(error_of(with_top(receiver + "  resend_every: 500ms\n")) ==
        "alerting.resend_every: must be between 1s and 24h, got 500ms (line 6)");
  CHECK(error_of(with_top(receiver + "  timeout: 0\n")) == "alerting.timeout: must be between 1ms and 10m, got 0 (line 6)");
  CHECK(error_of(with_top(receiver + "  runbook_url: \"\"\n")) ==
        "alerting.runbook_url: must not be empty (leave it out for docs/runbook.md#canary-rolled-back) (line 6)");
}

TEST_CASE("config rollout: the webhook secret comes from the environment at load", "[config][rollout]") {
  const std::string doc = with_top("alerting:\n  webhook:\n    url: \"http://pager.internal/hook\"\n"
                                   "    secret_env: SLIPWAY_TEST_HOOK_SECRET\n");
  {
    EnvVar unset("SLIPWAY_TEST_HOOK_SECRET", nullptr);
    CHECK(error_of(doc) ==
          "alerting.webhook.secret_env: environment variable \"SLIPWAY_TEST_HOOK_SECRET\" is not set (line 7)");
  }
  {
    EnvVar empty("SLIPWAY_TEST_HOOK_SECRET", "");
    CHECK(error_of(doc) ==
          "alerting.webhook.secret_env: environment variable \"SLIPWAY_TEST_HOOK_SECRET\" is empty (line 7)");
  }
  {
    EnvVar set("SLIPWAY_TEST_HOOK_SECRET", "k3y");
    auto c = ok(doc);
    CHECK(c->alerting->webhook->secret == "k3y");
    CHECK(c->alerting->webhook->secret_env == "SLIPWAY_TEST_HOOK_SECRET");
  }
  CHECK(error_of(with_top("alerting: {webhook: {url: \"http://h/x\", secret_env: \"\"}}\n")) ==
        "alerting.webhook.secret_env: must name an environment variable (leave it out to send unsigned) (line 4)");
}

TEST_CASE("config rollout: admin.token_file", "[config][rollout]") {
  {
    TempFile f("s3cret-token\r\n\n");
    auto c = ok(with_top("admin: {port: 0, token_file: \"" + f.path + "\"}\n"));
    REQUIRE(c->admin);
    CHECK(c->admin->token == "s3cret-token");  // trailing newlines trimmed
    CHECK(c->admin->token_file == f.path);
    CHECK(c->admin->token_env.empty());
  }
  {
    TempFile f("no-newline");
    CHECK(ok(with_top("admin: {token_file: \"" + f.path + "\"}\n"))->admin->token == "no-newline");
  }
  {
    TempFile f("\n");
    CHECK(error_of(with_top("admin: {token_file: \"" + f.path + "\"}\n")) ==
          "admin.token_file: \"" + f.path + "\" is empty (line 4)");
  }
  {
    TempFile f(std::string(5000, 'x'));
    CHECK(error_of(with_top("admin: {token_file: \"" + f.path + "\"}\n")) ==
          "admin.token_file: \"" + f.path + "\" is larger than 4KiB; not a token file? (line 4)");
  }
  CHECK(error_of(with_top("admin:\n  token_file: /nonexistent/slipway-token\n")) ==
        "admin.token_file: cannot read \"/nonexistent/slipway-token\": No such file or directory (line 5)");
  CHECK(error_of(with_top("admin:\n  token_file: /tmp\n")) ==
        "admin.token_file: cannot read \"/tmp\": Is a directory (line 5)");
  CHECK(error_of(with_top("admin:\n  token_file: \"\"\n")) ==
        "admin.token_file: must name a file holding the admin token (line 5)");
  EnvVar token("SLIPWAY_TEST_ADMIN_TOKEN_2", "t");
  CHECK(error_of(with_top("admin:\n  token_env: SLIPWAY_TEST_ADMIN_TOKEN_2\n  token_file: /tmp/x\n")) ==
        "admin.token_file: set either token_env or token_file, not both (line 6)");
}

TEST_CASE("config rollout: the rollout example is the demo-sized one the docs describe", "[config][rollout]") {
  ParseResult r = load_config_file(kExamples + "rollout.yaml");
  std::string all;
  for (const auto& e : r.errors) all += e.to_string() + "\n";
  INFO(all);
  REQUIRE(r.config);
  const Config& c = *r.config;
  CHECK(c.state_dir.empty());
  REQUIRE(c.models.size() == 1);
  const Model& m = c.models[0];
  REQUIRE(m.baseline.endpoints.size() == 1);
  CHECK(m.baseline.endpoints[0].label() == "127.0.0.1:8001");
  REQUIRE(m.canary);
  CHECK(m.canary->endpoints[0].label() == "127.0.0.1:8002");
  auto deep = std::find_if(c.slices.begin(), c.slices.end(), [](const SliceRule& s) { return s.name == "deep_schema"; });
  REQUIRE(deep != c.slices.end());
  CHECK(deep->schema_depth_at_least == 3);
  REQUIRE(m.rollout);
  CHECK(m.rollout->bucket == 5s);
  auto t = std::find_if(m.rollout->triggers.begin(), m.rollout->triggers.end(),
                        [](const Trigger& x) { return x.name == "schema_compliance"; });
  REQUIRE(t != m.rollout->triggers.end());
  CHECK(t->sli == TriggerSli::validation_failure_rate);
  CHECK(t->slice == "each");
  CHECK(t->window == 2min);
  CHECK(t->min_samples == 100);
  CHECK(t->tolerance_abs == 0.02);
  CHECK(t->confidence == 0.999);
  REQUIRE(c.alerting);
  REQUIRE(c.alerting->alertmanager);
  CHECK(c.alerting->alertmanager->url == "http://127.0.0.1:9093");
}

TEST_CASE("config rollout: the production example's rollout blocks", "[config][rollout]") {
  EnvVar a("VLLM_API_KEY", "key-a"), b("VLLM_CODER_API_KEY", "key-b");
  ParseResult r = load_config_file(kExamples + "production.yaml");
  std::string all;
  for (const auto& e : r.errors) all += e.to_string() + "\n";
  INFO(all);
  REQUIRE(r.config);
  const Config& c = *r.config;
  CHECK(c.state_dir == "/var/lib/slipway");
  REQUIRE(c.models[0].rollout);
  const Rollout& ro = *c.models[0].rollout;
  CHECK(ro.steps.size() >= 2);
  CHECK(ro.triggers.size() >= 3);
  CHECK(std::any_of(ro.triggers.begin(), ro.triggers.end(), [](const Trigger& t) { return t.sli == TriggerSli::latency; }));
  REQUIRE(c.alerting);
  CHECK(c.alerting->alertmanager);
}
