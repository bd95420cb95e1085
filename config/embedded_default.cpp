// The built-in demo config: the same text as config/examples/demo.yaml (a unit test parses both and
// compares the results). Used when the gateway starts with no --config.
#include "config/config.hpp"

namespace slipway::config {

namespace {
constexpr std::string_view kDemoConfig = R"yaml(
# slipway demo config: the one the gateway uses when started without --config.
#
# It puts slipway on 127.0.0.1:8080 in front of two simulated vLLM servers (tools/vllm-sim):
#   - the baseline, the full-precision model, on 127.0.0.1:8001
#   - the canary, a quantized copy of it, on 127.0.0.1:8002
# Clients ask for model "demo"; slipway sends 20% of users to the canary and the rest to the baseline,
# and the same user always lands on the same side. docs/config.md describes every key.

listen:
  address: 127.0.0.1        # loopback only: the demo is not reachable from other machines
  port: 8080

log_level: info             # debug | info | warn | error

admin:                      # a second listener for Prometheus and probes: /metrics, /healthz, /readyz
  address: 127.0.0.1
  port: 8081

models:
  - name: demo              # the name clients put in the request's "model" field
    baseline:               # the trusted model: gets all traffic not sent to the canary
      served_model: demo-fp16          # the name the backend itself expects
      endpoints: ["127.0.0.1:8001"]    # one or more vLLM servers (http://host:port or host:port)
      price: {prompt_per_1k: 0.0005, completion_per_1k: 0.0015}   # feeds slipway_cost_total
    canary:                 # the candidate under test
      served_model: demo-int4
      endpoints: ["127.0.0.1:8002"]
      weight: 20            # percent of users sent here (0..100, fractions such as 0.5 allowed)
      price: {prompt_per_1k: 0.0002, completion_per_1k: 0.0006}   # int4: more users per GPU
    rollout:                # automatic rollback (docs/config.md#rollout; the statistics: docs/judgement.md)
      revision: demo-1      # a new value (or POST /admin/v1/models/demo/resume) lets a rolled-back canary back in
      bucket: 5s
      triggers:
        - name: schema_compliance        # answers that break the requested JSON schema
          sli: validation_failure_rate
          slice: each                    # one test per slice below
          window: 3m
          min_samples: 50                # per variant, per slice
          tolerance: {absolute: 0.02}    # fire when the canary is worse by more than 2 points...
          confidence: 0.99               # ...and the always-valid test is that sure
        - name: tool_calls               # tool calls to unknown functions or with bad arguments
          sli: tool_call_failure_rate
          slice: tools
          window: 3m
          min_samples: 50
          tolerance: {absolute: 0.02}
          confidence: 0.99

routes:
  # Requests marked as high-stakes never go to the canary, whatever the weight.
  # Try it: curl -H 'x-slipway-tier: high-stakes' ...
  - name: high-stakes
    match:
      header: {name: x-slipway-tier, values: [high-stakes]}
    pin: baseline

# Slices: metrics are kept for every request (slice="all") and, in addition, per slice it matches, because
# a quantized model's regressions hide in slices. At most 32; docs/metrics.md has the cardinality formula.
slices:
  - {name: long_context, prompt_tokens_over: 8000}      # estimated tokens = characters / 4
  - {name: tools, tools_at_least: 1}
  - {name: json_schema, response_format: json_schema}   # guided_json counts too
  - {name: deep_schema, schema_depth_at_least: 3}       # nested objects/arrays in the requested schema
  - {name: streaming, stream: true}
)yaml";
}  // namespace

std::string_view embedded_default_config() { return kDemoConfig; }

}  // namespace slipway::config
