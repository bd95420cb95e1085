// A request's life, top to bottom. Each phase is a member of RequestLife; run() lists them in order.
#include "gateway/lifecycle.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "gateway/admission.hpp"
#include "gateway/client_watch.hpp"
#include "gateway/http_util.hpp"
#include "gateway/local_endpoints.hpp"
#include "gateway/metrics.hpp"
#include "gateway/rollout_service.hpp"
#include "gateway/outcome.hpp"
#include "gateway/relay.hpp"
#include "gateway/shadow.hpp"
#include "gateway/slices.hpp"
#include "gateway/upstream_call.hpp"
#include "gateway/usage_scan.hpp"

namespace slipway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

class ClientRequestView final : public RouteView {
 public:
  explicit ClientRequestView(const ClientRequest& req) : req_(req) {}
  std::string_view header(std::string_view name, bool& present) const override {
    auto it = req_.find(beast::string_view(name.data(), name.size()));
    present = it != req_.end();
    return present ? std::string_view(it->value().data(), it->value().size()) : std::string_view{};
  }

 private:
  const ClientRequest& req_;
};

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

}  // namespace

class RequestLife {
 public:
  RequestLife(WorkerContext& ctx, std::shared_ptr<const Snapshot> snapshot, TcpOrTlsStream& client, ClientRequest& req)
      : ctx_(ctx), snap_(std::move(snapshot)), cfg_(*snap_->config), client_(client), req_(req),
        watch_(client.socket(), &ctx.watch_starter) {
    out_.start = Clock::now();
    out_.method = sv(req.method_string());
    out_.path = sv(req.target());
  }

  net::awaitable<bool> run() {
    identify();
    if (cfg_.metrics_on_main && ctx_.metrics_all && out_.path == "/metrics") {
      co_await answer_metrics();
    } else if (auto local = local_endpoint(out_.path, req_.method())) {
      co_await answer_local(*local);
    } else if (co_await admit()) {
      classify();
      split();
      co_await forward_and_relay();
    }
    record();
    shadow();
    co_return keep_alive_;
  }

 private:
  // identify: the client's x-request-id when acceptable, else a new one.
  void identify() {
    auto given = field_value(req_, "x-request-id");
    out_.request_id = acceptable_request_id(given) ? std::string(given) : new_request_id(ctx_.rng);
    keep_alive_ = req_.keep_alive() && !ctx_.counters.draining.load(std::memory_order_relaxed);
  }

  // local: health, readiness, the model list, and 404 for what is not ours to proxy.
  net::awaitable<void> answer_local(LocalEndpoint which) {
    LocalAnswer a = answer_local_endpoint(which, *snap_, req_, out_.path);
    co_await send(a.status, a.body, a.content_type);
  }

  // GET /metrics on the main listener (metrics_on_main): the scrape runs on the control thread, so the
  // worker only waits for its result.
  net::awaitable<void> answer_metrics() {
    if (req_.method() != http::verb::get) {
      co_await send_error(405, "Use GET on /metrics.", "", "method_not_allowed");
      co_return;
    }
    const Metrics* metrics = ctx_.metrics_all;
    std::string text = co_await net::co_spawn(
        ctx_.control, [metrics]() -> net::awaitable<std::string> { co_return metrics->scrape(); }, net::use_awaitable);
    co_await send(200, text, Metrics::kContentType);
  }

  // admit: parse the body once, under the configured depth limit; find the model.
  net::awaitable<bool> admit() {
    counted_ = true;
    bool chat = out_.path.starts_with("/v1/chat/completions");
    bool completions = chat || out_.path.starts_with("/v1/completions");
    if (!completions) passthrough_ = true;
    if (completions && req_.method() != http::verb::post) {
      co_await send_error(405, "Method " + out_.method + " is not allowed on " + out_.path + "; use POST.", "",
                          "method_not_allowed");
      co_return false;
    }
    std::size_t depth = cfg_.limits.max_json_depth;
    if (ctx_.request_json_depth != depth) {
      if (!ctx_.request_json.allocate(64 * 1024, depth)) ctx_.request_json_depth = depth;
    }
    const std::string& body = req_.body();
    if (passthrough_) {
      // Other /v1/ paths: no split, no validation; the model (if the body names one) picks the pool.
      if (!cfg_.passthrough_v1) {
        co_await send_error(404, "Unknown path " + out_.path + ".", "", "not_found");
        co_return false;
      }
      simdjson::dom::element root;
      std::string_view name;
      if (!body.empty() && !ctx_.request_json.parse(body.data(), body.size()).get(root) &&
          !root["model"].get_string().get(name))
        out_.model = name;
      else if (!snap_->models.empty())
        out_.model = snap_->models.front().config->name;
    } else {
      auto admitted = admit_body(ctx_.request_json, body, chat);
      if (auto* err = std::get_if<ClientError>(&admitted)) {
        co_await send_error(err->status, err->message, err->param, err->code);
        co_return false;
      }
      facts_ = std::get<RequestFacts>(std::move(admitted));
      out_.model = facts_.model;
      out_.stream = facts_.stream;
      // Only when a slice asks for it: one more simdjson parse of the body (about 1 µs per 4 KiB).
      if (slices_need_schema_depth(cfg_)) schema_depth_ = request_schema_depth(ctx_.event_json, body);
      // What the response must satisfy: from admission's facts when the request asks for no structure, else
      // read by the validator; schemas are compiled here (cached), and a schema we refuse to
      // evaluate (too big, too deep, a costly regex) is the client's error, before any backend is asked.
      if (cfg_.validation.enabled) expectations_ = plain_chat_expectations(facts_, chat);
      if (cfg_.validation.enabled && !expectations_) {
        // Admission parsed the body: valid JSON.
        auto x = ctx_.validator_for(cfg_.validation).expectations(body, validators::JsonText::valid);
        if (auto* err = std::get_if<validators::RequestError>(&x)) {
          co_await send_error(400, err->message, err->param, "invalid_schema");
          co_return false;
        }
        expectations_ = std::get<validators::Expectations>(std::move(x));
      }
    }
    model_ = snap_->find_model(out_.model);
    if (!model_) {
      co_await send_error(404, "The model `" + out_.model + "` does not exist.", "model", "model_not_found");
      co_return false;
    }
    co_return true;
  }

  // classify: route rules may pin this request to the baseline.
  void classify() {
    ClientRequestView view(req_);
    view.path = out_.path;
    view.model = out_.model;
    pin_ = find_pin(cfg_, view);
    if (pin_) out_.pinned_by = pin_->name;
    on_invalid_ = find_on_invalid(cfg_, view);
    // Slices: a bounded set of labels for metrics (passthrough requests are counted under "all" only).
    if (!passthrough_ && !cfg_.slices.empty()) out_.slices = match_slices(cfg_, SliceInput{facts_, schema_depth_, view});
  }

  // split: sticky key -> point in [0,1) -> variant. Passthrough paths always use the baseline.
  void split() {
    if (passthrough_) {
      out_.variant = VariantKind::baseline;
      out_.split_reason = "passthrough";
      return;
    }
    std::string_view header_key;
    if (!cfg_.sticky_header.empty()) header_key = field_value(req_, cfg_.sticky_header);
    double random = ctx_.random_point();
    auto d = decide_variant(*model_->config, pin_, facts_.user, header_key, random, model_->canary_weight_percent);
    out_.variant = d.variant;
    out_.split_reason = d.reason;
    shadow_ = shadow_sampled(ctx_, *model_->config, out_, expectations_.has_value());
  }

  // forward + relay: send to the chosen variant; on a failed or invalid canary answer (policy
  // `fallback`) send again to the baseline, before the client has seen a byte.
  net::awaitable<void> forward_and_relay() {
    out_.proxied = true;
    watch_.start();
    VariantKind target = out_.variant;
    while (co_await try_variant(target) == Attempt::fall_back) target = VariantKind::baseline;
    watch_.stop();
  }

  enum class Attempt { done, fall_back };

  bool may_fall_back(VariantKind kind) const {
    return kind == VariantKind::canary && on_invalid_ == config::OnInvalid::fallback && out_.fallback_reason.empty();
  }

  net::awaitable<Attempt> try_variant(VariantKind kind) {
    const VariantRuntime& variant = model_->variant(kind);
    out_.answered_by = kind;
    // Ask for usage on every stream so it can be counted; the relay strips it again if unasked.
    bool request_usage = facts_.stream && !facts_.client_wants_usage;
    UpstreamRequest up = build_upstream_request(req_, *variant.config, out_.request_id, upstream_body(*variant.config, request_usage));
    up.expect_stream = facts_.stream;
    auto deadline = Clock::now() + cfg_.timeouts.total;
    out_.upstream_start = Clock::now();
    UpstreamCall call;
    co_await start_upstream_call(ctx_, variant, cfg_, up, deadline, watch_, call);
    out_.retries += call.retries;
    // The relay lets go of call.endpoint when the exchange ends: errors noted after that still name it.
    const std::string endpoint = call.endpoint ? call.endpoint->label() : std::string("none");
    if (call.endpoint) out_.endpoint = endpoint;
    if (!call.started()) {
      out_.upstream_elapsed += Clock::now() - out_.upstream_start;
      note_upstream_error(endpoint, to_string(call.failure));
      if (call.failure != UpstreamFailure::client_gone && may_fall_back(kind)) {
        out_.fallback_reason = "canary_" + std::string(to_string(call.failure));
        co_return Attempt::fall_back;
      }
      co_await answer_upstream_failure(call.failure, call.failure_detail, variant);
      co_return Attempt::done;
    }

    const auto& header = call.parser->get().base();
    if (is_event_stream(header)) {
      std::optional<validators::StreamAssembler> assembler;
      if (expectations_) assembler.emplace(cfg_.validation.max_assembled_bytes);
      StreamRelay r{ctx_, cfg_, client_, watch_, call, deadline, out_, response_headers(), request_usage,
                    assembler ? &*assembler : nullptr};
      if (!co_await relay_stream(r)) keep_alive_ = false;
      out_.upstream_elapsed += Clock::now() - out_.upstream_start;
      if (!out_.error_code.empty()) note_upstream_error(endpoint, out_.error_code);
      // Validation never delays the stream: it runs on what was relayed, after the last event.
      if (assembler && !out_.client_gone && out_.error_code.empty())
        out_.verdict = ctx_.validator_for(cfg_.validation).validate(*expectations_, keep_for_shadow(assembler->finish(), kind));
      co_return Attempt::done;
    }

    std::string body;
    auto failure = co_await read_whole_body(ctx_, cfg_, call, watch_, deadline, body);
    out_.upstream_elapsed += Clock::now() - out_.upstream_start;
    if (failure != UpstreamFailure::none) {
      note_upstream_error(endpoint, to_string(failure));
      if (failure != UpstreamFailure::client_gone && may_fall_back(kind)) {
        out_.fallback_reason = "canary_" + std::string(to_string(failure));
        co_return Attempt::fall_back;
      }
      co_await answer_upstream_failure(failure, call.failure_detail, variant);
      co_return Attempt::done;
    }
    int status = header.result_int();
    if (status >= 500) note_upstream_error(endpoint, "status_5xx");
    if (status >= 500 && may_fall_back(kind)) {
      out_.fallback_reason = "canary_status_5xx";
      co_return Attempt::fall_back;
    }
    // An error status whose body is not JSON (an HTML page from a proxy in front of the backend, an empty
    // body): the client still gets an OpenAI error, with the backend's status. JSON bodies pass unchanged.
    if (status >= 400 && !is_json_object(body)) {
      // Built before the co_await: g++ 12 destroys a ?: temporary inside a co_await expression twice.
      std::string type(sv(header[http::field::content_type]));
      std::string message = "The backend for model `" + out_.model + "` (" + std::string(to_string(kind)) + ") answered " +
                            std::to_string(status) + " with a body that is not a JSON error (" +
                            (type.empty() ? std::string("no content type") : type) + ", " + std::to_string(body.size()) +
                            " bytes).";
      co_await send_error(status, message, "", "upstream_error");
      co_return Attempt::done;
    }
    const bool validate = expectations_ && status >= 200 && status < 300;
    std::optional<validators::AssembledResponse> assembled;
    Usage usage;
    bool usage_found = false;
    if (validate) {
      // Parsed once for the validator, which reads the usage too.
      assembled = validators::assemble_completion(body, cfg_.validation.max_assembled_bytes);
      usage_found = assembled->usage.present;
      usage = Usage{assembled->usage.prompt_tokens, assembled->usage.completion_tokens};
    }
    if (!usage_found) usage_found = parse_body_usage(ctx_.event_json, body, usage);
    if (usage_found) out_.usage = usage;
    if (validate) {
      auto& validator = ctx_.validator_for(cfg_.validation);
      validators::Verdict verdict = validator.validate(*expectations_, keep_for_shadow(std::move(*assembled), kind));
      if (!verdict.ok()) {
        if (may_fall_back(kind)) {
          out_.fallback_reason = "canary_invalid";
          out_.fallen_back_verdict = std::move(verdict);
          co_return Attempt::fall_back;
        }
        if (on_invalid_ == config::OnInvalid::reject) {
          const auto* f = verdict.first_failing();
          std::string what = f ? std::string(validators::to_string(f->kind)) + ": " + f->detail : "invalid";
          out_.verdict = std::move(verdict);
          co_await send_error(502, "The " + std::string(to_string(kind)) + " answer failed validation (" + what + ").",
                              "", "response_validation_failed");
          co_return Attempt::done;
        }
      }
      out_.verdict = std::move(verdict);
    }
    co_await send_whole(client_, cfg_, header, std::move(body), response_headers(), out_);
    if (out_.client_gone) keep_alive_ = false;
    co_return Attempt::done;
  }

  // One failed upstream attempt, for slipway_upstream_errors_total{endpoint,kind}. Kinds are a closed set
  // (UpstreamFailure names and "status_5xx"); a client that left is not the backend's failure.
  void note_upstream_error(const std::string& endpoint, std::string_view kind) {
    if (kind == "client_gone" || kind == "none") return;
    for (std::string_view k : {"no_endpoint", "connect", "first_byte_timeout", "stream_idle_timeout", "total_timeout",
                               "broken", "too_large", "status_5xx"})
      if (k == kind) {
        out_.upstream_errors.push_back({endpoint, k});
        return;
      }
  }

  bool is_json_object(std::string_view body) {
    simdjson::dom::element root;
    return !ctx_.event_json.parse(body.data(), body.size()).get(root) && root.is_object();
  }

  // The body sent upstream: the model name replaced by the variant's served model (and usage asked for on a
  // stream); a passthrough request without a model goes unchanged.
  std::string upstream_body(const config::Variant& variant, bool request_usage) const {
    if (!req_.body().empty() && (!passthrough_ || !out_.model.empty()))
      return rewrite_body(req_.body(), variant.served_model, request_usage);
    return req_.body();
  }

  // Headers of ours on every proxied answer. A drain that began while this request was in flight
  // closes the connection after it, so the answer says so (a client must not reuse it).
  ResponseHeaders response_headers() {
    if (ctx_.counters.draining.load(std::memory_order_relaxed)) keep_alive_ = false;
    ResponseHeaders h;
    h.request_id = out_.request_id;
    h.keep_alive = keep_alive_;
    if (!cfg_.variant_header.empty()) {
      h.variant_header = cfg_.variant_header;
      h.variant = to_string(out_.answered_by);
    }
    return h;
  }

  net::awaitable<void> answer_upstream_failure(UpstreamFailure failure, const std::string& detail,
                                               const VariantRuntime& variant) {
    out_.error_code = std::string(to_string(failure));
    std::string where = "model `" + out_.model + "` (" + std::string(to_string(variant.kind)) + ")";
    switch (failure) {
      case UpstreamFailure::client_gone:
        out_.client_gone = true;
        out_.status = 499;  // nginx's "client closed request": nobody to answer
        keep_alive_ = false;
        co_return;
      case UpstreamFailure::no_endpoint:
        co_await send_error(503, "No healthy backend endpoint for " + where + ".", "", "no_healthy_upstream");
        co_return;
      case UpstreamFailure::connect:
        co_await send_error(502, "Could not connect to the backend for " + where + ": " + detail + ".",
                            "", "upstream_connect_failed");
        co_return;
      case UpstreamFailure::first_byte_timeout:
      case UpstreamFailure::stream_idle_timeout:
      case UpstreamFailure::total_timeout:
        co_await send_error(504, "The backend for " + where + " did not answer in time (" + detail + ").",
                            "", "upstream_timeout");
        co_return;
      default:
        co_await send_error(502, "The backend for " + where + " failed: " + detail + ".", "",
                            failure == UpstreamFailure::too_large ? "upstream_response_too_large" : "upstream_error");
        co_return;
    }
  }

  net::awaitable<void> send_error(int status, const std::string& message, std::string_view param,
                                  std::string_view code) {
    if (out_.error_code.empty()) out_.error_code = code;
    co_await send(status, openai_error_body(message, error_type_for_status(status), param, code), "application/json");
  }

  net::awaitable<void> send(int status, const std::string& body, std::string_view content_type) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, content_type);
    res.set("x-request-id", out_.request_id);
    if (out_.proxied && !cfg_.variant_header.empty()) res.set(cfg_.variant_header, to_string(out_.answered_by));
    res.body() = body;
    // After a client error the rest of the connection's bytes cannot be trusted to frame a request.
    if (status == 400 || status == 413 || status == 431 || status == 408) keep_alive_ = false;
    if (ctx_.counters.draining.load(std::memory_order_relaxed)) keep_alive_ = false;
    res.keep_alive(keep_alive_);
    res.prepare_payload();
    out_.status = status;
    out_.bytes_out += body.size();
    client_.expires_after(cfg_.timeouts.stream_idle);
    boost::system::error_code ec;
    co_await http::async_write(client_, res, net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      keep_alive_ = false;
      out_.client_gone = true;
    }
  }

  // record: one line per request; the same record feeds metrics and the rollout controller.
  void record() {
    out_.end = Clock::now();
    if (ctx_.metrics && cfg_.metrics_enabled) {
      std::size_t model_index = model_ ? static_cast<std::size_t>(model_->config - cfg_.models.data()) : cfg_.models.size();
      ctx_.metrics->record(RecordInput{out_, cfg_, model_index, out_.slices, counted_});
    }
    if (ctx_.rollout && model_)
      ctx_.rollout->observe(out_, cfg_, static_cast<std::size_t>(model_->config - cfg_.models.data()), facts_.tools > 0);
    if (!ctx_.log.enabled(LogLevel::info)) return;
    auto us = [](Clock::duration d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); };
    boost::json::object f;
    f["request_id"] = out_.request_id;
    f["method"] = out_.method;
    f["path"] = out_.path;
    f["status"] = out_.status;
    f["duration_us"] = us(out_.end - out_.start);
    if (!out_.model.empty()) f["model"] = out_.model;
    if (out_.proxied) {
      f["variant"] = to_string(out_.variant);
      f["split"] = out_.split_reason;
      if (!out_.pinned_by.empty()) f["pinned_by"] = out_.pinned_by;
      f["endpoint"] = out_.endpoint;
      f["stream"] = out_.stream;
      if (out_.slices) {
        boost::json::array names;
        for (std::size_t i = 0; i < cfg_.slices.size(); ++i)
          if (out_.slices & (uint32_t{1} << i)) names.push_back(boost::json::string(cfg_.slices[i].name));
        f["slices"] = std::move(names);
      }
      if (out_.first_token != Clock::time_point{}) f["ttft_us"] = us(out_.first_token - out_.start);
      if (out_.retries) f["retries"] = out_.retries;
      if (!out_.fallback_reason.empty()) {
        f["fallback"] = out_.fallback_reason;
        f["answered_by"] = to_string(out_.answered_by);
        if (out_.fallen_back_verdict) f["canary_findings"] = findings_json(*out_.fallen_back_verdict);
      }
      if (out_.verdict) {
        f["valid"] = out_.verdict->ok();
        if (!out_.verdict->findings.empty()) f["findings"] = findings_json(*out_.verdict);
        if (out_.verdict->refusal) f["refusal"] = true;
        if (out_.verdict->tool_calls) {
          f["tool_calls"] = out_.verdict->tool_calls;
          f["tool_calls_valid"] = out_.verdict->tool_calls_valid;
        }
      }
      if (out_.usage) {
        f["prompt_tokens"] = out_.usage->prompt_tokens;
        f["completion_tokens"] = out_.usage->completion_tokens;
      }
    }
    if (!out_.error_code.empty()) f["error"] = out_.error_code;
    if (out_.client_gone) f["client_gone"] = true;
    f["bytes_out"] = out_.bytes_out;
    ctx_.log.write(LogLevel::info, "request", f);
  }

  // shadow: a sampled baseline answer is compared with the canary's in the background (gateway/shadow.hpp);
  // the client has its answer already.
  void shadow() {
    if (!shadow_ || !baseline_answer_ || !out_.verdict) return;
    start_shadow(ctx_, out_, ShadowJob{snap_, model_, build_upstream_message(req_, *model_->canary->config, out_.request_id, upstream_body(*model_->canary->config, false)), std::move(*expectations_),
                                       std::move(*baseline_answer_), *out_.verdict, out_.usage, out_.slices});
  }

  // The baseline's assembled answer is kept only for a sampled request; the reference lives as long as the
  // full expression that validates it.
  const validators::AssembledResponse& keep_for_shadow(validators::AssembledResponse&& answer, VariantKind kind) {
    if (!shadow_ || kind != VariantKind::baseline) return answer;
    return baseline_answer_.emplace(std::move(answer));
  }

  // Kinds only (details may quote generated text, which the log never carries).
  static boost::json::array findings_json(const validators::Verdict& v) {
    boost::json::array kinds;
    for (const auto& f : v.findings) kinds.push_back(boost::json::string(validators::to_string(f.kind)));
    return kinds;
  }

  WorkerContext& ctx_;
  std::shared_ptr<const Snapshot> snap_;
  const config::Config& cfg_;
  TcpOrTlsStream& client_;
  ClientRequest& req_;
  ClientWatch watch_;
  Outcome out_;
  RequestFacts facts_;
  std::optional<validators::Expectations> expectations_;
  config::OnInvalid on_invalid_ = config::OnInvalid::pass;
  const ModelRuntime* model_ = nullptr;
  const config::RouteRule* pin_ = nullptr;
  bool passthrough_ = false;
  bool keep_alive_ = true;
  bool counted_ = false;      // a request of ours (not a local endpoint): counted in metrics
  int schema_depth_ = 0;      // of the request's schema, when a slice needs it
  bool shadow_ = false;       // sampled for shadow comparison (shadow_sampled)
  std::optional<validators::AssembledResponse> baseline_answer_;  // kept for the shadow only when sampled
};

net::awaitable<bool> handle_request(WorkerContext& ctx, std::shared_ptr<const Snapshot> snapshot,
                                    TcpOrTlsStream& client, ClientRequest& req) {
  struct InFlight {
    std::atomic<int>& n;
    explicit InFlight(std::atomic<int>& n) : n(n) { n.fetch_add(1, std::memory_order_relaxed); }
    ~InFlight() { n.fetch_sub(1, std::memory_order_relaxed); }
  } in_flight(ctx.counters.in_flight);
  RequestLife life(ctx, std::move(snapshot), client, req);
  co_return co_await life.run();
}

}  // namespace slipway
