// request-bench: building the request that goes upstream for one client request: the head written straight
// from the client's fields (what the gateway does) against building a Beast message and serialising it (what
// it did before, and what the shadow still does).
//   ninja -C build request-bench && build/bench/request-bench
#include <benchmark/benchmark.h>

#include "gateway/upstream_request.hpp"

using namespace slipway;
namespace http = boost::beast::http;

namespace {

struct Fixture {
  config::Variant variant;
  ClientRequest client{http::verb::post, "/v1/chat/completions", 11};
  Fixture() {
    variant.served_model = "bench";
    config::Endpoint e;
    e.host = "127.0.0.1";
    e.port = 8001;
    variant.endpoints.push_back(e);
    // The headers the benchmark's wrk script and the openai SDK send, and a 300-byte body.
    client.set(http::field::host, "127.0.0.1:9000");
    client.set(http::field::content_type, "application/json");
    client.set(http::field::content_length, "300");
    client.set(http::field::user_agent, "OpenAI/JS 4.104.0");
    client.set(http::field::accept, "application/json");
    client.set("x-bench-user", "bench-user-00001");
    client.body() = std::string(300, 'x');
  }
};

void BM_UpstreamRequest_Direct(benchmark::State& st) {
  Fixture f;
  for (auto _ : st) benchmark::DoNotOptimize(build_upstream_request(f.client, f.variant, "req-0123456789", f.client.body()));
}
BENCHMARK(BM_UpstreamRequest_Direct);

void BM_UpstreamRequest_ViaBeastMessage(benchmark::State& st) {
  Fixture f;
  for (auto _ : st)
    benchmark::DoNotOptimize(to_upstream_request(build_upstream_message(f.client, f.variant, "req-0123456789", f.client.body())));
}
BENCHMARK(BM_UpstreamRequest_ViaBeastMessage);

}  // namespace

BENCHMARK_MAIN();
