// Small internal helpers shared by the validators' .cpp files (not part of the public API).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace slipway::validators::detail {

// One simdjson DOM parser per thread (the validators are per worker thread anyway).
simdjson::dom::parser& thread_parser();

// Appends under a byte cap shared by all the pieces of one response.
struct ByteBudget {
  size_t cap;
  size_t used;
  bool exceeded;
  void append(std::string& dst, std::string_view piece) {
    if (exceeded) return;
    size_t room = cap > used ? cap - used : 0;
    if (piece.size() > room) {
      dst.append(piece.substr(0, room));
      used += room;
      exceeded = true;
      return;
    }
    dst.append(piece);
    used += piece.size();
  }
};

// Escapes one reference token of a JSON pointer (~ -> ~0, / -> ~1).
inline void append_pointer_token(std::string& out, std::string_view token) {
  out.push_back('/');
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
}

}  // namespace slipway::validators::detail
