// vllm-sim: counters for the /sim/stats test hook and the vllm: gauges of /metrics.
// Relaxed atomics (shared by all worker threads); the last request is kept per thread and the newest wins.
#include "tools/vllm-sim/sim.hpp"

#include <array>
#include <atomic>
#include <memory>
#include <mutex>

namespace sim {
namespace json = boost::json;
namespace {

constexpr std::array<std::string_view, static_cast<int>(PathId::count_)> kPaths = {
    "/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/v1/embeddings",
    "/tokenize", "/metrics", "/sim/stats", "/sim/reset", "other"};

struct Slot {
  std::mutex mu;
  std::uint64_t seq = 0;
  LastRequest lr;
};

struct Stats {
  std::atomic<std::int64_t> requests_total{0}, active_requests{0}, active_streams{0}, completed_streams{0},
      cancelled_streams{0}, cancelled_requests{0}, prompt_tokens{0}, generation_tokens{0};
  std::array<std::atomic<std::int64_t>, static_cast<int>(PathId::count_)> by_path{};
  std::atomic<std::int64_t> finished_stop{0}, finished_length{0}, finished_tool_calls{0};
  std::atomic<std::uint64_t> seq{0};
  std::vector<std::unique_ptr<Slot>> slots;
};

Stats& S() {
  static Stats s;
  return s;
}

constexpr auto rlx = std::memory_order_relaxed;

}  // namespace

PathId path_id(std::string_view target) {
  auto q = target.find('?');
  if (q != std::string_view::npos) target = target.substr(0, q);
  for (int i = 0; i < static_cast<int>(PathId::other); ++i)
    if (kPaths[static_cast<std::size_t>(i)] == target) return static_cast<PathId>(i);
  return PathId::other;
}

std::string_view path_name(PathId id) { return kPaths[static_cast<std::size_t>(id)]; }

void stats_init(int threads) {
  for (int i = 0; i < threads; ++i) S().slots.push_back(std::make_unique<Slot>());
}

void stats_request_begin(PathId id, bool active) {
  S().requests_total.fetch_add(1, rlx);
  if (active) S().active_requests.fetch_add(1, rlx);
  S().by_path[static_cast<std::size_t>(id)].fetch_add(1, rlx);
}
void stats_request_end() { S().active_requests.fetch_sub(1, rlx); }
void stats_stream_begin() { S().active_streams.fetch_add(1, rlx); }
void stats_stream_end(StreamEnd how) {
  S().active_streams.fetch_sub(1, rlx);
  if (how == StreamEnd::completed) S().completed_streams.fetch_add(1, rlx);
  if (how == StreamEnd::cancelled) S().cancelled_streams.fetch_add(1, rlx);
}
void stats_request_cancelled() { S().cancelled_requests.fetch_add(1, rlx); }
void stats_tokens(int prompt, int completion, std::string_view finish_reason) {
  S().prompt_tokens.fetch_add(prompt, rlx);
  S().generation_tokens.fetch_add(completion, rlx);
  if (finish_reason == "length") S().finished_length.fetch_add(1, rlx);
  else if (finish_reason == "tool_calls") S().finished_tool_calls.fetch_add(1, rlx);
  else S().finished_stop.fetch_add(1, rlx);
}

void stats_last_store(int t, LastRequest& lr) {
  auto& slot = *S().slots[static_cast<std::size_t>(t)];
  std::lock_guard lk(slot.mu);
  std::swap(slot.lr, lr);
  slot.seq = S().seq.fetch_add(1, rlx) + 1;
}

void stats_reset() {
  auto& s = S();
  for (auto* a : {&s.requests_total, &s.completed_streams, &s.cancelled_streams, &s.cancelled_requests,
                  &s.prompt_tokens, &s.generation_tokens, &s.finished_stop, &s.finished_length,
                  &s.finished_tool_calls})
    a->store(0, rlx);
  for (auto& a : s.by_path) a.store(0, rlx);
  for (auto& slot : s.slots) {
    std::lock_guard lk(slot->mu);
    slot->seq = 0;
  }
}

std::string stats_body() {
  auto& s = S();
  json::object o;
  o["requests_total"] = s.requests_total.load(rlx);
  o["active_requests"] = s.active_requests.load(rlx);
  o["active_streams"] = s.active_streams.load(rlx);
  o["completed_streams"] = s.completed_streams.load(rlx);
  o["cancelled_streams"] = s.cancelled_streams.load(rlx);
  o["cancelled_requests"] = s.cancelled_requests.load(rlx);
  json::object bp;
  for (std::size_t i = 0; i < s.by_path.size(); ++i)
    if (auto n = s.by_path[i].load(rlx)) bp[kPaths[i]] = n;
  o["by_path"] = std::move(bp);
  Slot* best = nullptr;
  std::uint64_t best_seq = 0;
  for (auto& slot : s.slots) {
    std::lock_guard lk(slot->mu);
    if (slot->seq > best_seq) best_seq = slot->seq, best = slot.get();
  }
  if (!best) {
    o["last_request"] = nullptr;
  } else {
    std::lock_guard lk(best->mu);
    const LastRequest& l = best->lr;
    json::object lr;
    lr["path"] = l.path;
    lr["model"] = l.has_model ? json::value(l.model) : json::value(nullptr);
    lr["x_request_id"] = l.has_x_request_id ? json::value(l.x_request_id) : json::value(nullptr);
    lr["authorization"] = l.has_authorization ? json::value(l.authorization) : json::value(nullptr);
    lr["body_bytes"] = l.body_bytes;
    lr["stream"] = l.stream;
    json::error_code ec;
    lr["stream_options"] = l.has_stream_options ? json::parse(l.stream_options, ec) : json::value(nullptr);
    json::object h;
    for (auto& [k, v] : l.headers) h[k] = v;
    lr["headers"] = std::move(h);
    o["last_request"] = std::move(lr);
  }
  return json::serialize(o);
}

std::string metrics_body() {
  auto& s = S();
  std::string m = "model_name=\"" + config().model + "\"";
  auto line = [&](std::string& o, const char* name, const char* type, const char* help, std::string_view labels,
                  std::int64_t v, bool header = true) {
    if (header) {
      o += "# HELP ";
      o += name;
      o += " ";
      o += help;
      o += "\n# TYPE ";
      o += name;
      o += " ";
      o += type;
      o += "\n";
    }
    o += name;
    o += "{";
    o += labels;
    o += "} " + std::to_string(v) + "\n";
  };
  std::string o;
  line(o, "vllm:num_requests_running", "gauge", "Number of requests in model execution batches.", m,
       s.active_requests.load(rlx));
  line(o, "vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", m, 0);
  o += "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n"
       "# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{" + m + "} " +
       std::to_string(std::min<double>(1.0, 0.01 * static_cast<double>(s.active_requests.load(rlx)))) + "\n";
  line(o, "vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.", m, s.prompt_tokens.load(rlx));
  line(o, "vllm:generation_tokens_total", "counter", "Number of generation tokens processed.", m,
       s.generation_tokens.load(rlx));
  line(o, "vllm:request_success_total", "counter", "Count of successfully processed requests.",
       "finished_reason=\"stop\"," + m, s.finished_stop.load(rlx));
  line(o, "vllm:request_success_total", "counter", "", "finished_reason=\"length\"," + m,
       s.finished_length.load(rlx), false);
  line(o, "vllm:request_success_total", "counter", "", "finished_reason=\"tool_calls\"," + m,
       s.finished_tool_calls.load(rlx), false);
  return o;
}

}  // namespace sim
