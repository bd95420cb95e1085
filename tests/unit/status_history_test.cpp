// The status page's data: SLI counts between two samples (rates' denominators leave out client errors),
// the history ring's bound, and the /status.json document built from a config, a history and totals.
#include <catch2/catch.hpp>

#include <boost/json/serialize.hpp>

#include "config/config.hpp"
#include "gateway/status_history.hpp"
#include "gateway/status_page.hpp"

using namespace slipway;
namespace json = boost::json;

namespace {

SeriesTotals totals(uint64_t ok, uint64_t invalid, uint64_t client_error, uint64_t schema_findings, uint64_t refusals) {
  SeriesTotals t;
  t.requests[static_cast<std::size_t>(RequestOutcome::ok)] = ok;
  t.requests[static_cast<std::size_t>(RequestOutcome::invalid)] = invalid;
  t.requests[static_cast<std::size_t>(RequestOutcome::client_error)] = client_error;
  t.findings[static_cast<std::size_t>(validators::FindingKind::schema_violation)] = schema_findings;
  t.findings[static_cast<std::size_t>(validators::FindingKind::refusal)] = refusals;  // a label, not a failure
  t.refusals = refusals;
  return t;
}

}  // namespace

TEST_CASE("status history: SLI counts between samples", "[admin][status]") {
  SeriesTotals before = totals(10, 1, 2, 1, 0);
  SeriesTotals after = totals(25, 4, 3, 4, 2);
  SliCounts c = sli_counts(after, &before);
  CHECK(c.requests == 19);
  CHECK(c.judged == 18);
  CHECK(c.failed == 3);
  CHECK(c.findings == 3);
  CHECK(c.refusals == 2);
  SliCounts since_start = sli_counts(after, nullptr);
  CHECK(since_start.requests == 32);
  CHECK(since_start.judged == 29);
  // Never negative, whatever the order.
  CHECK(sli_counts(before, &after).requests == 0);
}

TEST_CASE("status history: bounded ring without the none variant", "[admin][status]") {
  StatusHistory h(3);
  for (int i = 0; i < 5; ++i)
    h.add(i * 5000, {{SeriesKey{"m", "baseline", "all"}, totals(i, 0, 0, 0, 0)},
                     {SeriesKey{"m", "none", "all"}, totals(1, 0, 0, 0, 0)}});
  REQUIRE(h.samples().size() == 3);
  CHECK(h.samples().front().unix_ms == 10000);
  CHECK(h.samples().back().totals.size() == 1);
}

TEST_CASE("status document: weights from the config without a control, SLIs over the window", "[admin][status]") {
  auto parsed = config::parse_config(R"(
models:
  - name: org/m
    baseline: {endpoints: ["127.0.0.1:1"]}
    canary: {endpoints: ["127.0.0.1:2"], weight: 12.5}
slices:
  - {name: deep, schema_depth_at_least: 3}
)", "t.yaml");
  for (const auto& e : parsed.errors) FAIL(e.to_string());
  EndpointRegistry registry;
  SnapshotStore store(registry);
  auto snap = store.publish(parsed.config);

  StatusHistory h;
  h.add(1000, {{SeriesKey{"org/m", "canary", "deep"}, totals(10, 0, 0, 0, 0)}});
  h.add(6000, {{SeriesKey{"org/m", "canary", "deep"}, totals(20, 5, 0, 5, 0)}});
  std::map<SeriesKey, SeriesTotals> now{{SeriesKey{"org/m", "canary", "deep"}, totals(30, 5, 0, 5, 0)},
                                        {SeriesKey{"org/m", "baseline", "deep"}, totals(40, 0, 0, 0, 0)}};
  json::object doc = status_document(*snap, nullptr, h, now, 8000);
  INFO(json::serialize(doc));
  CHECK(doc.at("rollout_control").as_bool() == false);
  const auto& model = doc.at("state").at("models").as_array().at(0).as_object();
  CHECK(model.at("model").as_string() == "org/m");
  CHECK(model.at("configured_weight").to_number<double>() == 12.5);
  CHECK(model.at("effective_weight").to_number<double>() == 12.5);
  const auto& slis = doc.at("slis").as_array();
  REQUIRE(slis.size() == 2);  // all, deep
  const auto& deep = slis.at(1).as_object();
  CHECK(deep.at("slice").as_string() == "deep");
  // Window: from the oldest sample (t=1000) to now.
  CHECK(deep.at("canary").at("requests").to_number<int64_t>() == 25);
  CHECK(deep.at("canary").at("failed").to_number<int64_t>() == 5);
  CHECK(deep.at("canary").at("failure_rate").as_double() == Approx(0.2));
  // No sample had the baseline series yet: all of it is in the window.
  CHECK(deep.at("baseline").at("requests").to_number<int64_t>() == 40);
  CHECK(deep.at("baseline").at("failure_rate").as_double() == 0.0);
  // Chart: one point per interval (1000-6000, 6000-now).
  const auto& chart = deep.at("chart").as_object();
  CHECK(chart.at("t").as_array() == json::array{6000, 8000});
  CHECK(chart.at("canary").at("judged").as_array() == json::array{15, 10});
  CHECK(chart.at("canary").at("failed").as_array() == json::array{5, 0});
  // A page with a name holding "</script>" cannot close the data element.
  std::string page = status_page_html(json::object{{"x", "</script><b>"}});
  CHECK(page.find("</script><b>") == std::string::npos);
  CHECK(page.find("\\u003c/script>") != std::string::npos);
}
