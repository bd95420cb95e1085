// Refusal classifier: the `refusal` field when the backend sets it, otherwise the text, scored with one RE2::Set
// of weighted phrase patterns (several phrasings, en/fr/de/es/it/pt), the opening of the answer weighted most,
// compliance cues ("Here is", "Sure", code) and known false friends ("I can't stress enough") pulling down.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>
#include <re2/set.h>


namespace slipway::validators {

struct RefusalConfig {
  std::vector<std::string> languages = {"en", "fr", "de", "es", "it", "pt"};  // phrase sets to load
  std::vector<std::string> extra_phrases;             // RE2 syntax, case-insensitive; weight of a strong refusal
  std::vector<std::string> extra_compliance_phrases;  // RE2 syntax; pull towards "not a refusal"
  double threshold = 1.0;        // score >= threshold -> refusal
  size_t opening_bytes = 200;    // the opening of the answer (weighted 1.0; the rest `body_weight`)
  double body_weight = 0.3;
  bool trust_refusal_field = true;  // a non-empty `refusal` field is a refusal whatever the text says
};

struct RefusalResult {
  bool refusal = false;
  double score = 0;
  bool from_field = false;   // decided by the `refusal` field
  std::string reason;        // the strongest cue, e.g. "en:decline (opening)"
};

class RefusalClassifier {
 public:
  // Compiles every pattern once into one RE2::Set. Throws std::invalid_argument on a bad extra phrase.
  explicit RefusalClassifier(RefusalConfig config = {});
  ~RefusalClassifier();
  RefusalClassifier(RefusalClassifier&&) noexcept;
  RefusalClassifier& operator=(RefusalClassifier&&) noexcept;

  RefusalResult classify(std::string_view text, std::string_view refusal_field = {}) const;
  const RefusalConfig& config() const { return config_; }
  size_t pattern_count() const { return rules_.size(); }

 private:
  struct Rule {
    std::string name;
    double weight;
  };
  RefusalConfig config_;
  std::vector<Rule> rules_;
  std::unique_ptr<RE2::Set> set_;
};

}  // namespace slipway::validators
