// CheckTree::check: a simdjson document walked against the compiled nodes (check_tree_nodes.hpp).
#include "validators/check_tree.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include <re2/re2.h>

#include "validators/check_tree_nodes.hpp"

namespace slipway::validators {

using namespace check_tree_detail;

CheckTree::CheckTree() = default;
CheckTree::~CheckTree() = default;
size_t CheckTree::node_count() const { return nodes_.size(); }

// ---------------------------------------------------------------------------------------------------------
// Checking: a simdjson document walked against the nodes, with no allocation.

namespace {

constexpr size_t kMaxUnknownKeys = 16;   // extra properties checked against additionalProperties per object
constexpr size_t kMaxDupScanKeys = 32;   // objects up to this size are scanned for duplicate keys

// valijson's utils::u8_strlen: code points, counted as bytes that do not continue a sequence. Eight bytes at a
// time: a continuation byte is 10xxxxxx, bit 7 set and bit 6 clear.
inline uint64_t u8_length(std::string_view s) {
  uint64_t continuations = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    // One bit per continuation byte, moved to each byte's low bit and summed by a multiply (std::popcount is
    // a library call in a build for generic x86-64).
    uint64_t ones = (w & ~(w << 1) & 0x8080808080808080ull) >> 7;
    continuations += (ones * 0x0101010101010101ull) >> 56;
  }
  for (; i < s.size(); ++i) continuations += (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80;
  return s.size() - continuations;
}

// minLength / maxLength without counting when the byte length settles it: a string has at most as many code
// points as bytes.
inline bool length_at_least(std::string_view s, uint64_t n) { return s.size() >= n && (n == 0 || u8_length(s) >= n); }
inline bool length_at_most(std::string_view s, uint64_t n) { return s.size() <= n || u8_length(s) <= n; }

// Per call: set when the instance leaves the ground where the two validators provably agree (duplicate keys,
// which Boost.JSON collapses and simdjson keeps). The verdict is then `undecided` whatever the rest says, so no
// `not`/`oneOf` can turn an uncertain branch into a certain answer.
struct Ctx {
  bool undecided = false;
  bool nul_possible = true;  // strings_may_hold_nul() of the instance's text
  // A string value as valijson sees it: up to its first NUL byte, which only a "\u0000" escape can put there.
  std::string_view str(std::string_view s) const { return nul_possible ? c_str_view(s) : s; }
  bool give_up() {
    undecided = true;
    return false;
  }
};

}  // namespace


namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// By value: value_unsafe() on a temporary simdjson_result returns a reference into that temporary.
inline simdjson::dom::array array_of(element v) {
  simdjson::dom::array a = v.get_array().value_unsafe();
  return a;
}
inline simdjson::dom::object object_of(element v) {
  simdjson::dom::object o = v.get_object().value_unsafe();
  return o;
}

// valijson's isNumber(): an int64 or a double. A uint64 (above INT64_MAX) is no number to it: it matches no
// `type` but "any", skips the bounds, fails multipleOf and equals nothing.
inline bool is_number(element_type t) { return t == element_type::INT64 || t == element_type::DOUBLE; }

// valijson's asDouble() of a number.
inline double as_double(element v) {
  return v.type() == element_type::INT64 ? static_cast<double>(v.get_int64().value_unsafe())
                                         : v.get_double().value_unsafe();
}

// Keys of `o` appear once each (Boost.JSON keeps the last of duplicates; simdjson keeps them all).
bool unique_keys(simdjson::dom::object o, Ctx& ctx) {
  size_t n = o.size();
  if (n <= 1) return true;
  if (n > kMaxDupScanKeys) return ctx.give_up();
  std::array<std::string_view, kMaxDupScanKeys> keys;
  size_t i = 0;
  for (auto kv : o) {
    for (size_t j = 0; j < i; ++j)
      if (keys[j] == kv.key) return ctx.give_up();
    keys[i++] = kv.key;
  }
  return true;
}

bool find_key(simdjson::dom::object o, std::string_view key, element& out) {
  for (auto kv : o)
    if (kv.key == key) {
      out = kv.value;
      return true;
    }
  return false;
}

// valijson's BasicAdapter::equalTo(other, strict = true), `a` the baseline, `b` the other value.
bool equal(const CheckTree::Value& a, element b, Ctx& ctx) {
  using K = CheckTree::Value;
  switch (a.kind) {
    case K::null: return b.type() == element_type::NULL_VALUE;
    case K::boolean: return b.type() == element_type::BOOL && b.get_bool().value_unsafe() == a.b;
    case K::number: return is_number(b.type()) && as_double(b) == a.d;
    case K::uint_number: return false;
    case K::string:
      return b.type() == element_type::STRING && ctx.str(b.get_string().value_unsafe()) == a.s;
    case K::array: {
      if (b.type() != element_type::ARRAY) return false;
      auto arr = array_of(b);
      if (arr.size() != a.items.size()) return false;
      size_t i = 0;
      for (element e : arr)
        if (!equal(a.items[i++], e, ctx)) return false;
      return true;
    }
    case K::object: {
      if (b.type() != element_type::OBJECT) return false;
      auto obj = object_of(b);
      if (!unique_keys(obj, ctx)) return false;
      if (obj.size() != a.members.size()) return false;
      for (auto kv : obj) {
        auto it = std::lower_bound(a.members.begin(), a.members.end(), kv.key,
                                   [](const auto& m, std::string_view k) { return std::string_view(m.first) < k; });
        if (it == a.members.end() || it->first != kv.key) return false;
        if (!equal(it->second, kv.value, ctx)) return false;
      }
      return true;
    }
  }
  return false;
}

// The same between two instance values (uniqueItems).
bool equal(element a, element b, Ctx& ctx) {
  element_type ta = a.type(), tb = b.type();
  switch (ta) {
    case element_type::NULL_VALUE: return tb == element_type::NULL_VALUE;
    case element_type::BOOL: return tb == element_type::BOOL && a.get_bool().value_unsafe() == b.get_bool().value_unsafe();
    case element_type::INT64:
    case element_type::DOUBLE: return is_number(tb) && as_double(a) == as_double(b);
    case element_type::UINT64: return false;
    case element_type::STRING:
      return tb == element_type::STRING &&
             ctx.str(a.get_string().value_unsafe()) == ctx.str(b.get_string().value_unsafe());
    case element_type::ARRAY: {
      if (tb != element_type::ARRAY) return false;
      auto x = array_of(a), y = array_of(b);
      if (x.size() != y.size()) return false;
      auto it = x.begin();
      for (element e : y) {
        if (!equal(*it, e, ctx)) return false;
        ++it;
      }
      return true;
    }
    case element_type::OBJECT: {
      if (tb != element_type::OBJECT) return false;
      auto x = object_of(a), y = object_of(b);
      if (!unique_keys(x, ctx) || !unique_keys(y, ctx)) return false;
      if (x.size() != y.size()) return false;
      for (auto kv : y) {
        element v;
        if (!find_key(x, kv.key, v)) return false;
        if (!equal(v, kv.value, ctx)) return false;
      }
      return true;
    }
  }
  return false;
}

}  // namespace

// Walks one instance: every function answers "valid?"; anything uncertain also sets ctx.undecided.
struct CheckWalker {
  const CheckTree& t;
  Ctx& ctx;

  std::string_view str(element v) const { return ctx.str(v.get_string().value_unsafe()); }

  bool node(uint32_t id, element v) {
    if (id == kNone) return true;
    const CheckTree::Node& n = t.nodes_[id];
    if (n.always_invalid) return false;
    if (!(n.types & type_bit(v.type()))) return false;
    for (const auto& c : n.checks)
      if (!one(c, v)) return false;
    return true;
  }

  bool one(const CheckTree::Check& c, element v) {
    const element_type type = v.type();
    switch (c.op) {
      case Op::enum_values: {
        const auto& values = t.value_lists_[c.a];
        // Scalars (the common case: an enum of strings) are read once, not once per candidate value.
        if (type == element_type::STRING) {
          std::string_view s = str(v);
          for (const auto& val : values)
            if (val.kind == CheckTree::Value::string && val.s == s) return true;
          return false;
        }
        if (is_number(type)) {
          double d = as_double(v);
          for (const auto& val : values)
            if (val.kind == CheckTree::Value::number && val.d == d) return true;
          return false;
        }
        for (const auto& val : values)
          if (equal(val, v, ctx)) return true;
        return false;
      }
      case Op::min_length:
      case Op::max_length: {
        if (type != element_type::STRING) return true;
        return c.op == Op::min_length ? length_at_least(str(v), c.n) : length_at_most(str(v), c.n);
      }
      case Op::pattern:
        if (type != element_type::STRING) return true;
        return RE2::PartialMatch(str(v), *t.regexes_[c.a]);
      case Op::format:
        if (type != element_type::STRING) return true;
        return check_format(c.format, str(v));
      case Op::minimum:
      case Op::maximum: {
        if (!is_number(type)) return true;
        double d = as_double(v);
        if (c.op == Op::minimum) return c.exclusive ? d > c.x : d >= c.x;
        return c.exclusive ? d < c.x : d <= c.x;
      }
      case Op::multiple_of:
        // Numbers only, as MultipleOfConstraint::validate reads them (a uint64 is not one for valijson).
        if (type == element_type::INT64) return is_multiple_of(v.get_int64().value_unsafe(), c.divisor);
        if (type == element_type::DOUBLE) return is_multiple_of(v.get_double().value_unsafe(), c.divisor);
        return true;
      case Op::min_items:
      case Op::max_items: {
        if (type != element_type::ARRAY) return true;
        uint64_t n = array_of(v).size();
        return c.op == Op::min_items ? n >= c.n : n <= c.n;
      }
      case Op::min_properties:
      case Op::max_properties: {
        if (type != element_type::OBJECT) return true;
        auto o = object_of(v);
        if (!unique_keys(o, ctx)) return false;
        uint64_t n = o.size();
        return c.op == Op::min_properties ? n >= c.n : n <= c.n;
      }
      case Op::unique_items: {
        if (type != element_type::ARRAY) return true;
        auto arr = array_of(v);
        for (auto i = arr.begin(); i != arr.end(); ++i) {
          auto j = i;
          for (++j; j != arr.end(); ++j)
            if (equal(*i, *j, ctx)) return false;
        }
        return true;
      }
      case Op::items_single: {
        if (type != element_type::ARRAY) return true;
        if (t.nodes_[c.a].trivial) return true;
        for (element e : array_of(v))
          if (!node(c.a, e)) return false;
        return true;
      }
      case Op::items_linear: {
        if (type != element_type::ARRAY) return true;
        const auto& schemas = t.node_lists_[c.a];
        auto arr = array_of(v);
        size_t size = arr.size();
        if (!schemas.empty() && c.b == kNone && size > schemas.size()) return false;
        size_t i = 0;
        for (element e : arr) {
          if (i < schemas.size()) {
            if (!node(schemas[i], e)) return false;
          } else {
            if (c.b == kNone) return false;  // more items than `items` and no additionalItems schema
            if (!node(c.b, e)) return false;
          }
          ++i;
        }
        return true;
      }
      case Op::contains: {
        if (type != element_type::ARRAY) return true;
        for (element e : array_of(v))
          if (node(c.a, e)) return true;
        return false;
      }
      case Op::object:
        if (type != element_type::OBJECT) return true;
        return object(t.objects_[c.a], v);
      case Op::all_of:
        for (uint32_t id : t.node_lists_[c.a])
          if (!node(id, v)) return false;
        return true;
      case Op::any_of:
        for (uint32_t id : t.node_lists_[c.a])
          if (node(id, v)) return true;
        return false;
      case Op::one_of: {
        int n = 0;
        for (uint32_t id : t.node_lists_[c.a]) n += node(id, v) ? 1 : 0;
        return n == 1;
      }
      case Op::not_:
        if (c.a == kNone) return false;
        return !node(c.a, v);
      case Op::conditional:
        return node(c.a, v) ? node(c.b, v) : node(c.c, v);
    }
    return false;
  }

  // A member's value failed; valijson saw that member's last duplicate only, so a duplicate key makes it moot.
  bool value_failed(simdjson::dom::object o) {
    unique_keys(o, ctx);
    return false;
  }

  bool object(const CheckTree::ObjectPlan& p, element v) {
    auto o = object_of(v);
    uint64_t seen[kMaxObjectKeys / 64] = {};
    // Raw pointers, not string_views: this array is on the path of every object and must not be zeroed.
    struct Key {
      const char* data;
      size_t size;
    } unknown[kMaxUnknownKeys];
    size_t n_unknown = 0;
    for (auto kv : o) {
      int k = p.find(kv.key);
      if (k >= 0) {
        uint64_t bit = uint64_t{1} << (k & 63);
        uint64_t& word = seen[k >> 6];
        if (word & bit) return ctx.give_up();  // a duplicate key
        word |= bit;
        const auto& key = p.keys[k];
        if (key.in_properties) {
          if (!node(key.node, kv.value)) return value_failed(o);
          continue;
        }
      }
      if (!p.has_properties) continue;
      if (p.additional == kNone) return false;  // additionalProperties: false
      if (p.additional_trivial) continue;
      for (size_t j = 0; j < n_unknown; ++j)
        if (std::string_view(unknown[j].data, unknown[j].size) == kv.key) return ctx.give_up();
      if (n_unknown == kMaxUnknownKeys) return ctx.give_up();
      unknown[n_unknown++] = {kv.key.data(), kv.key.size()};
      if (!node(p.additional, kv.value)) return value_failed(o);
    }
    auto has = [&](uint32_t k) { return (seen[k >> 6] >> (k & 63)) & 1; };
    for (uint32_t k : p.required)
      if (!has(k)) return false;
    for (const auto& [k, deps] : p.property_deps) {
      if (!has(k)) continue;
      for (uint32_t d : deps)
        if (!has(d)) return false;
    }
    for (const auto& [k, id] : p.schema_deps)
      if (has(k) && !node(id, v)) return false;
    return true;
  }
};

bool strings_may_hold_nul(std::string_view json_text) {
  // Escape by escape, with memchr for the backslashes (most texts have few): memmem over the whole text cost
  // as much as the memchr per string it saves.
  const char* p = json_text.data();
  const char* const end = p + json_text.size();
  while (p < end) {
    const void* backslash = std::memchr(p, '\\', static_cast<size_t>(end - p));
    if (!backslash) return false;
    p = static_cast<const char*>(backslash);
    if (end - p >= 6 && std::memcmp(p + 1, "u0000", 5) == 0) return true;
    p += 2;  // past the escaped character (the hex digits of a \uXXXX hold no backslash)
  }
  return false;
}

FastVerdict CheckTree::check(element instance, bool strings_may_hold_nul) const {
  Ctx ctx;
  ctx.nul_possible = strings_may_hold_nul;
  CheckWalker w{*this, ctx};
  bool ok = w.node(0, instance);
  if (ctx.undecided) return FastVerdict::undecided;
  return ok ? FastVerdict::valid : FastVerdict::invalid;
}

}  // namespace slipway::validators
