#include "validators/expectations_cache.hpp"

namespace slipway::validators {

ExpectationsCache::ExpectationsCache(size_t max_entries, size_t max_bytes, size_t max_key_bytes)
    : max_entries_(max_entries), max_bytes_(max_bytes), max_key_bytes_(max_key_bytes) {}

std::string ExpectationsCache::key_of(const RequestMemberTexts& texts) {
  size_t size = 1;
  for (const auto& m : texts.read) size += 2 + m.value.size();
  std::string key;
  key.reserve(size);
  key.push_back(static_cast<char>('0' + (texts.has_messages ? 1 : 0) + (texts.has_prompt ? 2 : 0)));
  for (const auto& m : texts.read) {
    if (is_per_request_member(kRequestMembersRead[m.which])) continue;
    // A JSON text holds no raw control character, so NUL cannot occur inside a value: each member is
    // its index letter, its text and a NUL, and no two different member lists give the same key.
    key.push_back(static_cast<char>('a' + m.which));
    key.append(m.value);
    key.push_back('\0');
  }
  return key;
}

const Expectations* ExpectationsCache::find(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return &lru_.front().second;
}

void ExpectationsCache::insert(std::string key, const Expectations& x) {
  if (max_entries_ == 0 || key.size() > max_key_bytes_ || index_.contains(key)) return;
  bytes_ += key.size();
  lru_.emplace_front(std::move(key), x);
  index_.emplace(lru_.front().first, lru_.begin());
  while (lru_.size() > max_entries_ || bytes_ > max_bytes_) {
    const Entry& last = lru_.back();
    index_.erase(last.first);
    bytes_ -= last.first.size();
    lru_.pop_back();
  }
}

}  // namespace slipway::validators
