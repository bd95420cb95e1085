// Several members of a JSON object found in one pass over its fields.
//
// simdjson's object::operator[] walks the object's fields once per lookup, and its `const char*` overload
// runs strlen on the name first: a request's dozen lookups and an answer's sixteen were 8.8 % of a proxied
// chat request's instructions (bench/instructions.sh, callgrind). Each name gets the first member with
// that name, as operator[] would give it.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include <simdjson.h>

namespace slipway::validators {

template <std::size_t N>
class JsonMembers {
 public:
  JsonMembers(simdjson::dom::object object, const std::array<std::string_view, N>& names) {
    std::size_t left = N;
    for (auto field : object) {
      for (std::size_t i = 0; i < N; ++i) {
        if (!present_[i] && field.key == names[i]) {
          present_[i] = true;
          values_[i] = field.value;
          --left;
          break;
        }
      }
      if (left == 0) break;
    }
  }
  // The member named names[i]: false when the object has none.
  bool get(std::size_t i, simdjson::dom::element& out) const {
    if (!present_[i]) return false;
    out = values_[i];
    return true;
  }
  // The member named names[i], present and not null.
  bool get_non_null(std::size_t i, simdjson::dom::element& out) const { return get(i, out) && !out.is_null(); }

 private:
  std::array<simdjson::dom::element, N> values_{};
  std::array<bool, N> present_{};
};

}  // namespace slipway::validators
