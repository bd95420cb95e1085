// Unit tests for the fleet's shared windows (gateway/fleet_buckets.cpp) and its store client's behaviour when
// the store is not there (gateway/fleet_store.cpp): what a replica writes for a bucket, that the fleet's sum
// read back judges like one replica that saw everything, and that a dead store answers fast with an error.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "gateway/fleet_buckets.hpp"
#include "gateway/fleet_store.hpp"
#include "gateway/rollout/controller.hpp"

using namespace slipway;
using namespace std::chrono_literals;
using rollout::Clock;
using rollout::Observation;
using rollout::RateSli;
using rollout::LatencySli;
using rollout::Variant;

namespace {

rollout::WindowConfig wc(bool distributions = true) {
  rollout::WindowConfig c;
  c.bucket_width = 1s;
  c.buckets = 62;
  c.distributions = distributions;
  return c;
}

const std::vector<std::string> kSlices{"deep_schema", "tools"};

}  // namespace

TEST_CASE("fleet buckets: keys carry the model's revision, and epochs are unix time / bucket width", "[fleet]") {
  CHECK(fleet::bucket_key("p", "chat", "r7", 1700000000) == "p:w:chat:r7:1700000000");
  CHECK(fleet::state_key("p", "chat", "r7") == "p:state:chat:r7");
  CHECK(fleet::events_channel("p") == "p:events");
  rollout::Windows w(wc(), 3);
  const auto unix_s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(std::abs(w.epoch_of(fleet::wall_now()) - unix_s) <= 1);
  CHECK(w.epoch_of(fleet::epoch_start(1234, 1s)) == 1234);
}

TEST_CASE("fleet buckets: only non-zero counters are written, histograms sparsely", "[fleet]") {
  rollout::Windows w(wc(), 3);
  const auto t = fleet::epoch_start(1000, 1s) + 300ms;
  Observation o;
  o.set(RateSli::validation_failure, true).set(LatencySli::end_to_end, 0.25);
  const uint16_t deep[] = {1};
  w.observe(Variant::canary, deep, o, t);
  w.observe(Variant::canary, deep, Observation().set(RateSli::validation_failure, false), t);
  std::vector<fleet::Field> f;
  fleet::bucket_fields(w, 1000, kSlices, f);
  // canary: all + deep_schema, each a trials and a failures field and one latency bin. Nothing for the baseline.
  CHECK(f.size() == 6);
  auto has = [&](const std::string& name, int64_t v) {
    for (const auto& [n, x] : f)
      if (n == name) return x == v;
    return false;
  };
  CHECK(has("r|c|all|validation_failure|t", 2));
  CHECK(has("r|c|all|validation_failure|f", 1));
  CHECK(has("r|c|deep_schema|validation_failure|t", 2));
  CHECK(has("r|c|deep_schema|validation_failure|f", 1));
  const std::string bin = std::to_string(rollout::LatencyBins::index_of(0.25));
  CHECK(has("l|c|all|end_to_end_seconds|" + bin, 1));
  CHECK(has("l|c|deep_schema|end_to_end_seconds|" + bin, 1));
  f.clear();
  fleet::bucket_fields(w, 999, kSlices, f);
  CHECK(f.empty());
}

TEST_CASE("fleet buckets: three replicas' buckets summed judge like one replica that saw everything", "[fleet]") {
  // The same stream of requests, dealt round-robin to three replicas, and all of it to one.
  rollout::ControllerConfig cc;
  cc.revision = "r1";
  cc.window = wc(false);
  cc.slices = kSlices;
  rollout::TriggerSpec t;
  t.name = "slice_schema";
  t.slice = "each";
  t.window = 60s;
  t.min_samples = 60;
  t.tolerance_abs = 0.02;
  t.alpha = 0.01;
  cc.triggers = {t};
  const auto t0 = fleet::epoch_start(5000, 1s);
  rollout::Controller one(cc, t0);
  std::vector<rollout::Windows> replicas(3, rollout::Windows(cc.window, 3));
  uint64_t x = 7;
  for (int i = 0; i < 3000; ++i) {
    const auto at = t0 + std::chrono::milliseconds(i * 10);
    const bool deep = i % 4 == 0;
    const Variant v = (i / 4) % 2 ? Variant::canary : Variant::baseline;  // deep requests on both sides
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const bool fail = v == Variant::canary && deep && (x >> 33) % 10 < 6;
    Observation o;
    o.set(RateSli::validation_failure, fail);
    std::vector<uint16_t> slices;
    if (deep) slices.push_back(1);
    one.observe(v, slices, o, at);
    replicas[i % 3].observe(v, slices, o, at);
  }
  const auto now = t0 + 30s;
  rollout::Windows fleet_sum(cc.window, 3);
  for (int64_t e = 5000; e <= 5030; ++e) {
    for (auto& r : replicas) {
      std::vector<fleet::Field> f;
      fleet::bucket_fields(r, e, kSlices, f);
      CHECK(fleet::add_fields(fleet_sum, e, kSlices, f) == 0);
    }
  }
  rollout::Controller fleet_judge(cc, t0);
  fleet_judge.windows() = std::move(fleet_sum);
  const auto a = one.evaluate(now, 1);
  const auto b = fleet_judge.evaluate(now, 1);
  REQUIRE(a.results.size() == b.results.size());
  for (std::size_t i = 0; i < a.results.size(); ++i) {
    CHECK(a.results[i].eval.canary_n == b.results[i].eval.canary_n);
    CHECK(a.results[i].eval.canary_events == b.results[i].eval.canary_events);
    CHECK(a.results[i].eval.baseline_n == b.results[i].eval.baseline_n);
    CHECK(a.results[i].eval.p_value == b.results[i].eval.p_value);
  }
  CHECK(a.kind == rollout::Decision::Kind::rollback);
  CHECK(b.kind == rollout::Decision::Kind::rollback);
  // ... and one replica alone has a third of the sample.
  rollout::Controller alone(cc, t0);
  alone.windows() = replicas[0];
  const auto c = alone.evaluate(now, 1);
  CHECK(c.results[0].eval.canary_n * 3 <= a.results[0].eval.canary_n + 3);
}

TEST_CASE("fleet buckets: fields of an unknown slice or SLI are skipped and counted", "[fleet]") {
  rollout::Windows w(wc(), 3);
  std::vector<fleet::Field> f{{"r|c|gone_slice|refusal|t", 3}, {"r|c|all|no_such_sli|t", 1}, {"x|y", 1},
                              {"l|b|tools|end_to_end_seconds|999", 1}, {"r|b|tools|refusal|t", 4}};
  CHECK(fleet::add_fields(w, 77, kSlices, f) == 4);
  CHECK(w.rate(Variant::baseline, 2, RateSli::refusal, 77, 77).trials == 4);
}

TEST_CASE("fleet store: an unreachable store answers at once with an error, never hangs", "[fleet]") {
  // A port with nothing listening: bind, learn the port, close.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  fleet::StoreSettings s;
  s.port = ntohs(a.sin_port);
  s.replica_id = "t";
  s.timeout = 100ms;
  std::atomic<int> wakes{0};
  fleet::Store store(s, [&] { ++wakes; });
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(store.submit_tick({}, {}));
  while (wakes.load() == 0 && std::chrono::steady_clock::now() - t0 < 2s) std::this_thread::sleep_for(5ms);
  auto replies = store.take_replies();
  REQUIRE(replies.size() == 1);
  CHECK_FALSE(replies[0].ok);
  CHECK(replies[0].error.find("connect to 127.0.0.1:") == 0);
  CHECK(store.errors() == 1);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  std::string error;
  CHECK(fleet::fetch_states(s, {{"m", "r1"}}, error).empty());
  CHECK_FALSE(error.empty());
}
