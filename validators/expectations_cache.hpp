// Expectations kept by the text of the request members they come from. An application sends the same tools
// and the same response schema with every request; parsing them (Boost.JSON) and looking their schemas up
// again (serialising each one for the schema cache's key) was about 8 % of a tool-call request's CPU and 8 %
// of a structured-output request's, measured with bench/profile.sh.
//
// The key is the exact text of every structure member (`response_format`, `guided_json`,
// `structured_outputs`, `tools`, `tool_choice`, `parallel_tool_calls`) in body order, plus whether
// `messages` and `prompt` are there: parse_expectations' result depends on nothing else except the
// per-request members (`stream`, `max_tokens`, `max_completion_tokens`), which are read again on every hit.
// Only requests that compiled are kept: an error is worded afresh each time.
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "validators/request_expectations.hpp"
#include "validators/request_members.hpp"

namespace slipway::validators {

class ExpectationsCache {
 public:
  // Bounds: entries, the sum of the keys' sizes, and one key's size (a longer one is not kept).
  ExpectationsCache(size_t max_entries, size_t max_bytes = 4 * 1024 * 1024, size_t max_key_bytes = 64 * 1024);

  static std::string key_of(const RequestMemberTexts& texts);

  // The kept expectations for this key (the most recently used from now on), or null.
  const Expectations* find(const std::string& key);
  void insert(std::string key, const Expectations& x);

  size_t size() const { return lru_.size(); }
  size_t bytes() const { return bytes_; }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  using Entry = std::pair<std::string, Expectations>;
  std::list<Entry> lru_;  // front = most recent
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // views of the entries' keys
  size_t max_entries_, max_bytes_, max_key_bytes_;
  size_t bytes_ = 0;
  uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace slipway::validators
