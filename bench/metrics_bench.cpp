// metrics-bench: the hot-path cost of metrics. record() of one outcome into a worker's shard (1 and 2
// threads, each on its own shard), prometheus-cpp's shared Histogram::Observe for comparison (1 and 2
// threads on one metric), slice matching, and a scrape of thousands of series.
//   ninja -C build metrics-bench && build/bench/metrics-bench
#include <benchmark/benchmark.h>

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <string>

#include "config/config.hpp"
#include "gateway/metrics.hpp"
#include "gateway/runtime.hpp"
#include "gateway/slices.hpp"
#include "gateway/worker_context.hpp"

using namespace slipway;

namespace {

std::string config_text(int slices) {
  std::string s = R"(
models:
  - name: m
    baseline: {endpoints: ["127.0.0.1:1"], price: {prompt_per_1k: 0.5, completion_per_1k: 1.5}}
    canary: {endpoints: ["127.0.0.1:2"], weight: 50}
slices:
)";
  for (int i = 0; i < slices; ++i) s += "  - {name: s" + std::to_string(i) + ", tools_at_least: " + std::to_string(i + 1) + "}\n";
  return s;
}

struct Fixture {
  EndpointRegistry registry;
  SnapshotStore store{registry};
  GatewayCounters counters;
  std::shared_ptr<const Snapshot> snap;
  std::unique_ptr<Metrics> metrics;
  explicit Fixture(int slices) {
    auto r = config::parse_config(config_text(slices), "bench.yaml");
    snap = store.publish(r.config);
    metrics = std::make_unique<Metrics>(store, counters);
  }
};

Outcome sample_outcome(bool findings) {
  Outcome o;
  o.proxied = true;
  o.variant = o.answered_by = VariantKind::canary;
  o.status = 200;
  o.start = Clock::now();
  o.upstream_elapsed = std::chrono::milliseconds(20);
  o.end = o.start + std::chrono::milliseconds(21);
  o.usage = Usage{800, 120};
  o.slices = 0b101;  // two slices + "all"
  if (findings) {
    o.verdict.emplace();
    o.verdict->add(validators::FindingKind::schema_violation, "x");
    o.verdict->tool_calls = 2;
    o.verdict->tool_calls_valid = 1;
  }
  return o;
}

Fixture& shared_fixture() {
  static Fixture f(5);
  static bool shards = [] {
    for (int i = 0; i < 8; ++i) f.metrics->add_shard();
    return true;
  }();
  (void)shards;
  return f;
}

void BM_record(benchmark::State& state) {
  static Fixture& f = shared_fixture();
  static std::vector<MetricsShard*> shards;
  static std::mutex m;
  MetricsShard* shard;
  {
    std::lock_guard lock(m);
    shard = &f.metrics->add_shard();
  }
  Outcome o = sample_outcome(state.range(0) != 0);
  const config::Config& cfg = *f.snap->config;
  for (auto _ : state) {
    shard->record({o, cfg, 0, o.slices, true});
    benchmark::ClobberMemory();
  }
  state.SetLabel(state.range(0) ? "3 series cells, finding + tool calls + usage" : "3 series cells, ok + usage");
}
BENCHMARK(BM_record)->Arg(0)->Arg(1)->Threads(1)->Threads(2);

void BM_prometheus_cpp_histogram_observe_shared(benchmark::State& state) {
  static auto registry = std::make_shared<prometheus::Registry>();
  static auto& hist = prometheus::BuildHistogram().Name("x_seconds").Help("x").Register(*registry).Add(
      {}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  double x = 0.02;
  for (auto _ : state) hist.Observe(x);
}
BENCHMARK(BM_prometheus_cpp_histogram_observe_shared)->Threads(1)->Threads(2);

struct View final : RouteView {
  std::string_view header(std::string_view name, bool& present) const override {
    present = name == "x-lang";
    return present ? "fr" : "";
  }
};

void BM_match_slices(benchmark::State& state) {
  auto r = config::parse_config(R"(
models:
  - name: m
    baseline: {endpoints: ["h:1"]}
slices:
  - {name: long_context, prompt_tokens_over: 8000}
  - {name: tools, tools_at_least: 1}
  - {name: json_schema, response_format: json_schema}
  - {name: deep_schema, schema_depth_at_least: 3}
  - {name: streaming, stream: true}
  - {name: fr, header: {name: x-lang, values: [fr, de]}}
)", "b.yaml");
  RequestFacts f;
  f.prompt_chars = 4000;
  f.tools = 2;
  f.response_format = "json_schema";
  View v;
  v.model = "m";
  v.path = "/v1/chat/completions";
  for (auto _ : state) benchmark::DoNotOptimize(match_slices(*r.config, {f, 3, v}));
}
BENCHMARK(BM_match_slices);

void BM_scrape(benchmark::State& state) {
  Fixture f(static_cast<int>(state.range(0)));
  auto& a = f.metrics->add_shard();
  auto& b = f.metrics->add_shard();
  Outcome o = sample_outcome(true);
  a.record({o, *f.snap->config, 0, o.slices, true});
  b.record({o, *f.snap->config, 0, o.slices, true});
  std::size_t lines = 0;
  for (auto _ : state) {
    std::string text = f.metrics->scrape();
    lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    benchmark::DoNotOptimize(text);
  }
  state.counters["lines"] = static_cast<double>(lines);
}
BENCHMARK(BM_scrape)->Arg(5)->Arg(32)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
