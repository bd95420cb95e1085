#include "validators/refusal_classifier.hpp"

#include <algorithm>
#include <stdexcept>

#include <re2/re2.h>
#include <re2/set.h>

#include "validators/refusal_phrases.hpp"

namespace slipway::validators {

namespace {

// An ASCII apostrophe in a pattern also matches the typographic one.
std::string widen_apostrophes(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 16);
  for (char c : p) {
    if (c == '\'') out += "(?:'|\xe2\x80\x99)";
    else out.push_back(c);
  }
  return out;
}

// Cuts at a UTF-8 character boundary at or before n.
std::string_view prefix_utf8(std::string_view s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

std::string_view trim_front(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t' || s[i] == '"' || s[i] == '*'))
    ++i;
  return s.substr(i);
}

}  // namespace

RefusalClassifier::RefusalClassifier(RefusalConfig config) : config_(std::move(config)) {
  RE2::Options opt;
  opt.set_case_sensitive(false);
  opt.set_log_errors(false);
  opt.set_never_capture(true);
  opt.set_max_mem(64 << 20);
  set_ = std::make_unique<RE2::Set>(opt, RE2::UNANCHORED);
  auto wanted = [&](std::string_view lang) {
    if (lang == "*") return true;
    return std::find(config_.languages.begin(), config_.languages.end(), lang) != config_.languages.end();
  };
  auto add = [&](std::string name, double weight, std::string_view pattern) {
    std::string err;
    if (set_->Add(widen_apostrophes(pattern), &err) < 0)
      throw std::invalid_argument("refusal phrase '" + std::string(pattern) + "': " + err);
    rules_.push_back(Rule{std::move(name), weight});
  };
  for (const auto& p : detail::refusal_phrases())
    if (wanted(p.lang)) add(std::string(p.name), p.weight, p.pattern);
  for (size_t i = 0; i < config_.extra_phrases.size(); ++i)
    add("extra:" + std::to_string(i), 2.0, config_.extra_phrases[i]);
  for (size_t i = 0; i < config_.extra_compliance_phrases.size(); ++i)
    add("extra-compliance:" + std::to_string(i), -1.5, config_.extra_compliance_phrases[i]);
  if (!set_->Compile()) throw std::invalid_argument("refusal phrase set does not compile (too large?)");
}

RefusalClassifier::~RefusalClassifier() = default;
RefusalClassifier::RefusalClassifier(RefusalClassifier&&) noexcept = default;
RefusalClassifier& RefusalClassifier::operator=(RefusalClassifier&&) noexcept = default;

RefusalResult RefusalClassifier::classify(std::string_view text, std::string_view refusal_field) const {
  RefusalResult r;
  if (config_.trust_refusal_field) {
    auto f = trim_front(refusal_field);
    if (!f.empty()) {
      r.refusal = true;
      r.from_field = true;
      r.score = config_.threshold;
      r.reason = "refusal field";
      return r;
    }
  }
  text = trim_front(text);
  if (text.empty()) return r;
  std::string_view opening = prefix_utf8(text, config_.opening_bytes);

  thread_local std::vector<int> in_opening, in_text;
  in_opening.clear();
  in_text.clear();
  set_->Match(opening, &in_opening);
  if (opening.size() < text.size()) set_->Match(text, &in_text);
  std::sort(in_opening.begin(), in_opening.end());

  double best = 0;
  for (int i : in_opening) {
    double w = rules_[static_cast<size_t>(i)].weight;
    r.score += w;
    if (w > best) {
      best = w;
      r.reason = rules_[static_cast<size_t>(i)].name + " (opening)";
    }
  }
  for (int i : in_text) {
    if (std::binary_search(in_opening.begin(), in_opening.end(), i)) continue;
    double w = rules_[static_cast<size_t>(i)].weight * config_.body_weight;
    r.score += w;
    if (w > best) {
      best = w;
      r.reason = rules_[static_cast<size_t>(i)].name + " (body)";
    }
  }
  r.refusal = r.score >= config_.threshold;
  return r;
}

}  // namespace slipway::validators
