// The compiled form of a CheckTree (check_tree.hpp), shared by the two halves that use it: the builder
// (check_tree_build.cpp, valijson's schema in) and the walker (check_tree.cpp, a simdjson document checked).
// Only those two files include it.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "validators/check_tree.hpp"
#include "validators/formats.hpp"
#include "validators/multiple_of.hpp"

namespace slipway::validators {

namespace check_tree_detail {

inline constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
inline constexpr size_t kMaxObjectKeys = 256;   // names one object plan tracks (a 256-bit seen set on the stack)

// valijson reads strings through std::string::c_str(): everything from the first NUL byte on is invisible to it.
inline std::string_view c_str_view(std::string_view s) {
  const void* nul = std::memchr(s.data(), '\0', s.size());
  return nul ? s.substr(0, static_cast<const char*>(nul) - s.data()) : s;
}

enum TypeBit : uint16_t {
  kNull = 1, kBool = 2, kInt64 = 4, kUint64 = 8, kDouble = 16, kString = 32, kArray = 64, kObject = 128,
  kAllTypes = 255,
};

inline uint16_t type_bit(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::NULL_VALUE: return kNull;
    case T::BOOL: return kBool;
    case T::INT64: return kInt64;
    case T::UINT64: return kUint64;
    case T::DOUBLE: return kDouble;
    case T::STRING: return kString;
    case T::ARRAY: return kArray;
    case T::OBJECT: return kObject;
  }
  return 0;
}

}  // namespace check_tree_detail

struct CheckTree::Value {
  enum Kind : uint8_t { null, boolean, number, uint_number, string, array, object } kind = null;
  bool b = false;
  double d = 0;
  std::string s;                                  // strings: as valijson sees them (up to the first NUL)
  std::vector<Value> items;                       // arrays
  struct Member;
  std::vector<Member> members;                    // objects, sorted by key
};
// Not std::pair<std::string, Value>: clang rejects a pair of the still-incomplete Value here.
struct CheckTree::Value::Member {
  std::string first;
  Value second;
};

enum class Op : uint8_t {
  enum_values, min_length, max_length, pattern, format, minimum, maximum, multiple_of,
  min_items, max_items, unique_items, items_single, items_linear, contains, object, min_properties,
  max_properties, all_of, any_of, one_of, not_, conditional,
};

struct CheckTree::Check {
  Op op;
  bool exclusive = false;
  Format format = Format::unknown;
  uint32_t a = check_tree_detail::kNone, b = check_tree_detail::kNone, c = check_tree_detail::kNone;
  uint64_t n = 0;
  double x = 0;
  Divisor divisor;
};

struct CheckTree::Node {
  bool always_invalid = false;
  bool trivial = false;  // no check at all: every value is valid
  uint16_t types = check_tree_detail::kAllTypes;
  std::vector<Check> checks;
};

struct CheckTree::ObjectPlan {
  struct Key {
    std::string name;
    bool in_properties = false;  // named in `properties` (else only in required/dependencies)
    uint32_t node = check_tree_detail::kNone;  // its subschema when in_properties
  };
  std::vector<Key> keys;  // in the order the schema names them (find() needs no order)
  std::vector<uint32_t> required;
  bool has_properties = false;      // a properties/additionalProperties constraint is present
  uint32_t additional = check_tree_detail::kNone;  // kNone with has_properties: no other property allowed
  bool additional_trivial = false;  // additionalProperties accepts anything: values not visited
  std::vector<std::pair<uint32_t, std::vector<uint32_t>>> property_deps;
  std::vector<std::pair<uint32_t, uint32_t>> schema_deps;

  // Over 8 names, an open-addressing table over the keys (built once the keys are final, see index_keys):
  // one probe and one memcmp for most lookups, where a binary search made about four string comparisons per
  // member of a 10-key object.
  std::vector<uint16_t> slots;  // key index + 1; 0 = empty
  uint32_t slot_mask = 0;

  static uint32_t slot_hash(std::string_view k) {
    if (k.empty()) return 0;
    auto c = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(k[i])); };
    return static_cast<uint32_t>(k.size()) * 0x9E3779B1u ^ c(0) * 0x85EBCA77u ^ c(k.size() - 1) * 0xC2B2AE3Du ^
           c(k.size() / 2) * 0x27D4EB2Fu;
  }
  void index_keys() {
    if (keys.size() <= 8) return;
    uint32_t n = 16;
    while (n < 2 * keys.size()) n *= 2;
    slots.assign(n, 0);
    slot_mask = n - 1;
    for (size_t i = 0; i < keys.size(); ++i) {
      uint32_t h = slot_hash(keys[i].name) & slot_mask;
      while (slots[h]) h = (h + 1) & slot_mask;
      slots[h] = static_cast<uint16_t>(i + 1);
    }
  }
  int find(std::string_view k) const {
    // A handful of names: a scan on length and first byte beats hashing (bench/validators_bench.cpp).
    if (keys.size() <= 8) {
      for (size_t i = 0; i < keys.size(); ++i)
        if (keys[i].name.size() == k.size() && (k.empty() || keys[i].name[0] == k[0]) &&
            std::memcmp(keys[i].name.data(), k.data(), k.size()) == 0)
          return static_cast<int>(i);
      return -1;
    }
    for (uint32_t h = slot_hash(k) & slot_mask; slots[h]; h = (h + 1) & slot_mask) {
      const std::string& name = keys[slots[h] - 1].name;
      if (name.size() == k.size() && (k.empty() || std::memcmp(name.data(), k.data(), k.size()) == 0))
        return slots[h] - 1;
    }
    return -1;
  }
  uint32_t key_index(const std::string& name) {
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i].name == name) return static_cast<uint32_t>(i);
    keys.push_back({name, false, check_tree_detail::kNone});
    return static_cast<uint32_t>(keys.size() - 1);
  }
};

}  // namespace slipway::validators
