// The gateway's configuration: one immutable snapshot, parsed and validated whole from one YAML file.
// A request holds the snapshot it started with (std::shared_ptr<const Config>), so a reload never
// changes a request in flight.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slipway::config {

using Duration = std::chrono::milliseconds;

// TLS on a listener (docs/tls.md). The PEM files are read and checked at load time, so every reload
// re-reads them and a bad file is a rejected reload; new connections get the new certificate.
struct ServerTls {
  std::string cert_file;                    // PEM: the certificate, then its intermediates
  std::string key_file;                     // PEM private key matching the certificate
  std::string cert_pem;                     // cert_file's contents, read at load time
  std::string key_pem;                      // key_file's contents, read at load time
  Duration handshake_timeout{10'000};       // a client that has not finished its handshake by then is cut off
  bool operator==(const ServerTls&) const = default;
};

struct Listener {
  std::string address = "0.0.0.0";
  uint16_t port = 8080;  // 0: an ephemeral port, reported in the "listening" log line
  std::optional<ServerTls> tls;             // absent: plain HTTP
  bool operator==(const Listener&) const = default;
};

// How https:// endpoints are verified (docs/tls.md).
struct UpstreamTls {
  std::string ca_file;                      // PEM bundle of trusted CAs; "": the system's trust store
  std::string ca_pem;                       // ca_file's contents, read at load time
  bool insecure_skip_verify = false;        // no certificate or name check (logged as a warning at load)
  bool operator==(const UpstreamTls&) const = default;
};

// One backend server: http://host:port (or host:port), or https://host:port.
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  bool tls = false;                         // https://: verified per upstream_tls
  std::string authority() const { return host + ":" + std::to_string(port); }  // the Host header's value
  std::string label() const { return (tls ? "https://" : "") + authority(); }  // logs, metrics, pool keys
  bool operator==(const Endpoint&) const = default;
};

struct Variant {
  std::string served_model;                 // model name the backend expects in the request body
  std::optional<std::string> api_key;       // sent as "Authorization: Bearer ..." instead of the client's
  std::vector<Endpoint> endpoints;          // at least one
  double weight_percent = 0.0;              // canary only: share of traffic, 0..100 (fractions allowed)
  struct Price {                            // per 1,000 tokens, in the operator's currency
    double prompt_per_1k = 0.0;
    double completion_per_1k = 0.0;
    bool operator==(const Price&) const = default;
  };
  std::optional<Price> price;               // feeds slipway_cost_total; absent: no cost counted
  bool operator==(const Variant&) const = default;
};

// A rollback trigger (docs/judgement.md): an SLI compared between canary and baseline on a slice, over a
// sliding window, with a sequential test that stays valid under continuous monitoring.
enum class TriggerSli {
  validation_failure_rate,   // answers with a failing finding / answers validated
  tool_call_failure_rate,    // answers with an invalid tool call / answers to requests that offered tools
  refusal_rate,              // refusals / answers (direction usually `either`)
  truncation_rate,           // finish_reason "length" / answers
  upstream_error_rate,       // upstream errors and timeouts / requests sent to a backend
  latency,                   // end-to-end seconds, at `quantile`
  time_to_first_token,       // streams only, at `quantile`
  output_tokens,             // completion tokens per answer, at `quantile` (longer than baseline is worse)
  cost_per_success,          // cost of a successful answer (needs prices), at `quantile`
  shadow_disagreement_rate,  // compared shadows where any aspect disagreed / compared shadows (needs `shadow`);
                             // a one-sample check against tolerance_abs (docs/shadow.md)
};
enum class TriggerDirection { higher_is_worse, lower_is_worse, either };

struct Trigger {
  std::string name;                         // unique within the model; a metric and alert label
  TriggerSli sli = TriggerSli::validation_failure_rate;
  double quantile = 0.95;                   // distribution SLIs only (latency, ttft, output_tokens, cost)
  std::string slice = "all";                // "all", "each" (every named slice, one test each) or a slices[].name
  Duration window{30 * 60'000};             // test length; a multiple of rollout.bucket
  uint64_t min_samples = 500;               // per variant, within the window
  double tolerance_abs = 0.0;               // rates: absolute (0.01 = 1 point)
  double tolerance_rel = 0.0;               // rates and distributions: relative (0.1 = 10 %)
  double confidence = 0.999;                // 1 - the false-rollback budget per hour, split over the tests
  TriggerDirection direction = TriggerDirection::higher_is_worse;  // rates only
  bool operator==(const Trigger&) const = default;
};

struct RolloutStep {
  double weight_percent = 1.0;
  Duration hold{10 * 60'000};               // at least this long, and until every trigger has its min sample
  bool operator==(const RolloutStep&) const = default;
};

// The rollout controller of one model (gateway/rollout/). Requires a canary.
struct Rollout {
  std::string revision;                     // a new value resumes a latched rollback (the SRE's way back)
  Duration bucket{10'000};                  // window bucket width; the ring spans the longest trigger window
  std::vector<Trigger> triggers;
  std::vector<RolloutStep> steps;           // empty: the canary gets canary.weight at once
  bool operator==(const Rollout&) const = default;
};

// Shadow comparison (docs/shadow.md): a sample of the baseline's requests is also sent to the canary in
// the background, and the two answers are compared. Requires a canary.
struct Shadow {
  double sample = 0.0;                      // fraction of baseline requests mirrored, [0, 1]
  int max_inflight = 32;                    // shadow requests in flight for this model, all workers; more are dropped
  bool operator==(const Shadow&) const = default;
};

struct Model {
  std::string name;                         // the name clients send in "model"
  Variant baseline;
  std::optional<Variant> canary;            // absent: all traffic to the baseline
  std::optional<Rollout> rollout;           // absent: no automatic rollback for this model
  std::optional<Shadow> shadow;             // absent: no shadow comparison
  bool operator==(const Model&) const = default;
};

// Where rollback alerts go. Both receivers may be set; each is retried with backoff until accepted.
struct Alerting {
  struct Alertmanager {
    std::string url;                        // base URL, e.g. http://127.0.0.1:9093 (POST {url}/api/v2/alerts)
    bool operator==(const Alertmanager&) const = default;
  };
  struct Webhook {
    std::string url;                        // POSTed a JSON body per firing / resolved alert
    std::string secret_env;                 // environment variable with the HMAC-SHA256 key; "" = unsigned
    std::optional<std::string> secret;      // read from secret_env at load time
    bool operator==(const Webhook&) const = default;
  };
  std::optional<Alertmanager> alertmanager;
  std::optional<Webhook> webhook;
  std::string runbook_url;                  // annotation runbook_url; default: the docs/runbook.md anchor
  std::string generator_url;                // where the alert links back to (e.g. the admin state URL)
  Duration resend_every{60'000};            // re-send a firing alert (Alertmanager forgets after resolve_timeout)
  Duration timeout{5'000};                  // per delivery attempt
  bool operator==(const Alerting&) const = default;
};

// Fleet mode (docs/fleet.md): replicas share their rollout windows and latch through Redis. Absent: a replica
// judges alone on its own traffic.
struct Fleet {
  enum class OnStoreLoss { keep, baseline };
  std::string store;                        // as written: redis://host:port[/db]
  std::string host = "127.0.0.1";           // parsed from store
  uint16_t port = 6379;
  int db = 0;
  std::string key_prefix = "slipway";       // every key is <key_prefix>:...
  std::string replica_id;                   // default: the host name; unique per replica
  OnStoreLoss on_store_loss = OnStoreLoss::keep;  // keep: the canary serves on local judgement; baseline: weight 0
  Duration timeout{200};                    // connect and per-command timeout of the store client
  Duration flush_every{1'000};              // how often a replica writes its counts (and reads the fleet's)
  bool operator==(const Fleet&) const = default;
};

// A route rule pins matching traffic to the baseline. All present matchers must match.
struct HeaderMatch {
  std::string name;                         // lower-cased at parse time
  std::vector<std::string> values;          // exact values; empty means "header present"
  bool operator==(const HeaderMatch&) const = default;
};
// What the gateway does with a response that fails validation (and with a canary that errors before
// sending a byte): measure only, retry on the baseline, or answer an error naming the finding.
enum class OnInvalid { pass, fallback, reject };

struct RouteRule {
  std::string name;
  std::optional<HeaderMatch> header;
  std::optional<std::string> model;         // client-facing model name
  std::optional<std::string> path_prefix;   // e.g. "/v1/completions"
  bool pin_baseline = true;                 // `pin: baseline`; a rule may instead only set on_invalid
  std::optional<OnInvalid> on_invalid;      // overrides validation.on_invalid for matching requests
  bool operator==(const RouteRule&) const = default;
};

struct Limits {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::size_t max_response_bytes = 64 * 1024 * 1024;  // non-streaming upstream bodies
  std::size_t max_json_depth = 64;
  Duration read_timeout{10'000};            // whole request (header + body) must arrive within this
  Duration idle_timeout{60'000};            // keep-alive connection with no request
  std::size_t max_connections = 10'000;     // per gateway process
  bool operator==(const Limits&) const = default;
};

struct Timeouts {
  Duration connect{2'000};
  Duration first_byte{60'000};              // request sent -> first response byte
  Duration stream_idle{30'000};             // between two stream chunks
  Duration total{600'000};                  // whole upstream exchange
  bool operator==(const Timeouts&) const = default;
};

struct HealthPolicy {
  int eject_after_failures = 3;             // consecutive failures before an endpoint is ejected
  Duration eject_for{10'000};
  Duration check_interval{2'000};           // active GET of check_path on every endpoint; 0 disables
  std::string check_path = "/health";
  bool operator==(const HealthPolicy&) const = default;
};

// Inline validation of every response (validators/). Bounds protect the gateway from costly schemas.
struct Validation {
  bool enabled = true;
  OnInvalid on_invalid = OnInvalid::pass;   // default policy; routes may override
  std::size_t max_schema_bytes = 64 * 1024;
  std::size_t max_schema_depth = 32;
  std::size_t max_subschemas = 2000;
  int max_regex_program_size = 2000;
  std::size_t max_assembled_bytes = 1 << 20;  // per response; past it the verdict says so
  std::size_t schema_cache_entries = 256;     // per worker thread
  std::vector<std::string> refusal_extra_phrases;  // RE2, case-insensitive
  double refusal_threshold = 1.0;
  bool operator==(const Validation&) const = default;
};

// A slice: a named predicate on a request, evaluated at admission. A request is counted in metrics under
// slice="all" and under every slice whose predicates (all given must hold) match it.
inline constexpr std::size_t kMaxSlices = 32;
struct SliceRule {
  std::string name;                         // metric label value; unique, not "all"
  std::optional<int64_t> prompt_tokens_over;     // estimated prompt tokens (characters / 4) > N
  std::optional<int64_t> tools_at_least;         // number of tools offered >= N
  std::optional<std::string> response_format;    // "text" | "json_object" | "json_schema" (guided_json counts)
  std::optional<int64_t> schema_depth_at_least;  // nesting of objects/arrays in the requested schema >= N
  std::optional<bool> stream;
  std::optional<HeaderMatch> header;        // a header value from an allowed list (or present)
  std::optional<std::string> model;         // client-facing model name
  std::optional<std::string> route;         // a routes[] rule's name whose match holds
  std::optional<std::string> path_prefix;
  bool operator==(const SliceRule&) const = default;
};

// The admin listener: /metrics, /healthz, /readyz (and later the token-protected admin API).
struct Admin {
  std::string address = "127.0.0.1";
  uint16_t port = 9090;                     // 0: ephemeral, reported in the "listening" log line
  std::string token_env;                    // environment variable holding the admin API token
  std::string token_file;                   // or a file holding it (trailing newline trimmed); not both
  std::optional<std::string> token;         // read from token_env / token_file at load time
  std::optional<ServerTls> tls;             // absent: plain HTTP
  bool operator==(const Admin&) const = default;
};

struct Config {
  Listener listen;
  int threads = 0;                          // 0: one worker per core
  Limits limits;
  Timeouts timeouts;
  HealthPolicy health;
  std::string sticky_header = "x-slipway-user";   // used when the body has no "user"; "" disables
  std::string variant_header = "x-slipway-variant"; // response header naming the variant; "" disables
  bool passthrough_v1 = true;               // other /v1/* paths go to the model's baseline unchanged
  std::string log_level = "info";           // debug | info | warn | error
  std::vector<Model> models;
  std::vector<RouteRule> routes;
  Validation validation;
  std::vector<SliceRule> slices;            // at most kMaxSlices
  std::optional<Admin> admin;               // absent: no admin listener
  bool metrics_on_main = false;             // also serve GET /metrics on the main listener
  bool metrics_enabled = true;              // false: record() feeds no metrics (to measure their cost)
  std::string state_dir;                    // rollout latch files (rollout-<model>.json); "" = not persisted
  Duration rollout_evaluate_every{1'000};   // how often the controller judges the windows
  std::optional<Alerting> alerting;         // absent: rollbacks are logged and exported, not sent
  std::optional<Fleet> fleet;               // absent: this replica judges alone (docs/fleet.md)
  UpstreamTls upstream_tls;                 // for https:// endpoints

  std::string source;                       // file name (or "<embedded>") the snapshot came from
  uint64_t generation = 0;                  // 0 from parse_config; the gateway sets 1 for the first, +1 per reload

  const Model* find_model(std::string_view name) const;
  // Member-wise, source and generation included (compare copies with those cleared to compare settings).
  bool operator==(const Config&) const = default;
};

struct ConfigError {
  std::string path;                         // key path, e.g. "models[0].canary.weight"
  int line = 0;                             // 1-based; 0 when unknown
  std::string message;                      // e.g. "must be between 0 and 100, got 150"
  std::string to_string() const;            // "models[0].canary.weight: must be ... (line 12)"
  bool operator==(const ConfigError&) const = default;
};

struct ParseResult {
  std::shared_ptr<const Config> config;     // null when errors is not empty
  std::vector<ConfigError> errors;
};

// Parse and validate a whole document. Every problem found is reported, not only the first.
ParseResult parse_config(std::string_view yaml_text, std::string_view source_name);
// Read a file and parse it; an unreadable file is one error with path "" naming the file.
ParseResult load_config_file(const std::string& path);
// The built-in demo config (two local simulators), used when the gateway starts with no --config.
std::string_view embedded_default_config();

}  // namespace slipway::config
