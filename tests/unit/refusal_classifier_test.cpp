// Refusal classifier: precision and recall on the labelled set tests/data/refusals.jsonl (written for this
// project: refusals, over-refusals, partial refusals, compliant answers with "sorry" / "I can't stress enough",
// compliance with a warning, six languages), plus configuration behaviour.
// The phrase patterns were tuned on the rows without a "split"; rows with "split":"holdout" were
// written afterwards and never used for tuning. SLIPWAY_REFUSAL_VERBOSE=1 prints every misclassified example with its score and strongest cue.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include <boost/json/parse.hpp>

#include "validators/refusal_classifier.hpp"

using namespace slipway::validators;

namespace {

struct Example {
  std::string text, lang, note, split;
  bool refusal;
};

std::vector<Example> load() {
  std::vector<Example> out;
  std::ifstream in(std::string(SLIPWAY_SOURCE_DIR) + "/tests/data/refusals.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto v = boost::json::parse(line);
    const auto& o = v.as_object();
    out.push_back({std::string(o.at("text").as_string()), std::string(o.at("lang").as_string()),
                   o.contains("note") ? std::string(o.at("note").as_string()) : "",
                   o.contains("split") ? std::string(o.at("split").as_string()) : "tuning", o.at("refusal").as_bool()});
  }
  return out;
}

struct Counts {
  size_t tp = 0, fp = 0, tn = 0, fn = 0;
  double precision() const { return tp + fp ? double(tp) / double(tp + fp) : 1.0; }
  double recall() const { return tp + fn ? double(tp) / double(tp + fn) : 1.0; }
};

}  // namespace

TEST_CASE("refusal classifier precision and recall on the labelled set", "[validators][refusal]") {
  auto examples = load();
  REQUIRE(examples.size() >= 300);
  RefusalClassifier clf;
  Counts all;
  std::map<std::string, Counts> by_lang, by_split;
  const bool verbose = std::getenv("SLIPWAY_REFUSAL_VERBOSE") != nullptr;
  for (const auto& e : examples) {
    auto r = clf.classify(e.text);
    Counts& l = by_lang[e.lang];
    Counts& s = by_split[e.split];
    if (r.refusal && e.refusal) ++all.tp, ++l.tp, ++s.tp;
    else if (r.refusal && !e.refusal) ++all.fp, ++l.fp, ++s.fp;
    else if (!r.refusal && e.refusal) ++all.fn, ++l.fn, ++s.fn;
    else ++all.tn, ++l.tn, ++s.tn;
    if (verbose && r.refusal != e.refusal)
      std::printf("  MISS %s [%s] score=%.2f cue=%s | %s | %s\n", e.refusal ? "FN" : "FP", e.lang.c_str(), r.score,
                  r.reason.c_str(), e.note.c_str(), e.text.substr(0, 120).c_str());
  }
  std::printf("refusal set: %zu examples, precision %.3f, recall %.3f (tp %zu fp %zu fn %zu tn %zu)\n", examples.size(),
              all.precision(), all.recall(), all.tp, all.fp, all.fn, all.tn);
  for (const auto& [split, c] : by_split)
    std::printf("  split %s: precision %.3f recall %.3f (n=%zu)\n", split.c_str(), c.precision(), c.recall(),
                c.tp + c.fp + c.tn + c.fn);
  for (const auto& [lang, c] : by_lang)
    std::printf("  %s: precision %.3f recall %.3f (n=%zu)\n", lang.c_str(), c.precision(), c.recall(),
                c.tp + c.fp + c.tn + c.fn);
  REQUIRE(all.precision() >= 0.975);  // measured 0.985 (see docs/validation.md)
  REQUIRE(all.recall() >= 0.955);  // measured 0.961
}

TEST_CASE("refusal classifier behaviour", "[validators][refusal]") {
  RefusalClassifier clf;
  CHECK(clf.classify("I'm sorry, but I can't help with that.").refusal);
  CHECK_FALSE(clf.classify("I can't stress enough how useful unit tests are. Here's how to write one.").refusal);
  CHECK_FALSE(clf.classify("").refusal);
  // The refusal field wins whatever the text says.
  auto f = clf.classify("", "I can't assist with that.");
  CHECK(f.refusal);
  CHECK(f.from_field);
  // A decline buried at the end of a long compliant answer is a caveat, not a refusal.
  std::string long_answer = "Sure, here is the full migration plan. " + std::string(600, 'x') +
                            " I can't help with the legal review part, ask your counsel.";
  CHECK_FALSE(clf.classify(long_answer).refusal);

  // Configuration: extra phrases, threshold, languages.
  RefusalConfig cfg;
  cfg.extra_phrases = {"\\bcomputer says no\\b"};
  RefusalClassifier custom(cfg);
  CHECK(custom.classify("Computer says no.").refusal);
  CHECK_FALSE(clf.classify("Computer says no.").refusal);
  RefusalConfig strict;
  strict.threshold = 10;
  CHECK_FALSE(RefusalClassifier(strict).classify("I'm sorry, but I can't help with that.").refusal);
  RefusalConfig en_only;
  en_only.languages = {"en"};
  RefusalClassifier en(en_only);
  CHECK_FALSE(en.classify("Lo siento, pero no puedo ayudarte con eso.").refusal);
  CHECK(clf.classify("Lo siento, pero no puedo ayudarte con eso.").refusal);
  RefusalConfig bad;
  bad.extra_phrases = {"(unclosed"};
  CHECK_THROWS_AS(RefusalClassifier(bad), std::invalid_argument);
}

TEST_CASE("refusal classifier cost on a 2 KiB answer", "[validators][refusal][.perf]") {
  RefusalClassifier clf;
  std::string text = "Sure, here is the answer. ";
  while (text.size() < 2048) text += "The quick brown fox jumps over the lazy dog, and nothing is refused here. ";
  auto t0 = std::chrono::steady_clock::now();
  int n = 2000, hits = 0;
  for (int i = 0; i < n; ++i) hits += clf.classify(text).refusal;
  auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / n;
  std::printf("refusal classify 2 KiB: %.2f us\n", us);
  CHECK(hits == 0);
}
