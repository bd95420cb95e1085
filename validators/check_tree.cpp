#include "validators/check_tree.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <unordered_map>

#include <boost/json/value.hpp>
#include <re2/re2.h>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/constraints/concrete_constraints.hpp>
#include <valijson/constraints/constraint_visitor.hpp>
#include <valijson/subschema.hpp>

#include "validators/formats.hpp"
#include "validators/multiple_of.hpp"
#include "validators/re2_regex.hpp"

namespace slipway::validators {

namespace {

// valijson keeps enum and const values in a FrozenValue whose only interface is equalTo(Adapter): nothing reads
// the value back. Access checking does not apply to the arguments of an explicit template instantiation
// ([temp.spec.general]/6), which lets this one place name the private member instead of re-parsing the schema
// JSON to find the same values again. A valijson that renames the member fails to compile here, loudly.
struct FrozenBoostValueTag {
  using type = boost::json::value valijson::adapters::BoostJsonFrozenValue::*;
};
template <class Tag, typename Tag::type Member>
struct MemberAccess {
  friend typename Tag::type member_pointer(Tag) { return Member; }
};
typename FrozenBoostValueTag::type member_pointer(FrozenBoostValueTag);
template struct MemberAccess<FrozenBoostValueTag, &valijson::adapters::BoostJsonFrozenValue::m_value>;

const boost::json::value* frozen_boost_value(const valijson::adapters::FrozenValue& v) {
  auto* b = dynamic_cast<const valijson::adapters::BoostJsonFrozenValue*>(&v);
  return b ? &(b->*member_pointer(FrozenBoostValueTag{})) : nullptr;
}

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
constexpr size_t kMaxObjectKeys = 256;   // names one object plan tracks (a 256-bit seen set on the stack)
constexpr size_t kMaxUnknownKeys = 16;   // extra properties checked against additionalProperties per object
constexpr size_t kMaxDupScanKeys = 32;   // objects up to this size are scanned for duplicate keys

// valijson reads strings through std::string::c_str(): everything from the first NUL byte on is invisible to it.
inline std::string_view c_str_view(std::string_view s) {
  const void* nul = std::memchr(s.data(), '\0', s.size());
  return nul ? s.substr(0, static_cast<const char*>(nul) - s.data()) : s;
}

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
  uint32_t a = kNone, b = kNone, c = kNone;
  uint64_t n = 0;
  double x = 0;
  Divisor divisor;
};

struct CheckTree::Node {
  bool always_invalid = false;
  bool trivial = false;  // no check at all: every value is valid
  uint16_t types = kAllTypes;
  std::vector<Check> checks;
};

struct CheckTree::ObjectPlan {
  struct Key {
    std::string name;
    bool in_properties = false;  // named in `properties` (else only in required/dependencies)
    uint32_t node = kNone;       // its subschema when in_properties
  };
  std::vector<Key> keys;  // in the order the schema names them (find() needs no order)
  std::vector<uint32_t> required;
  bool has_properties = false;      // a properties/additionalProperties constraint is present
  uint32_t additional = kNone;      // kNone with has_properties: no other property allowed
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
    keys.push_back({name, false, kNone});
    return static_cast<uint32_t>(keys.size() - 1);
  }
};

CheckTree::CheckTree() = default;
CheckTree::~CheckTree() = default;
size_t CheckTree::node_count() const { return nodes_.size(); }

// ---------------------------------------------------------------------------------------------------------
// Building: one Node per valijson Subschema (shared and recursive $refs are the same Subschema pointer).

class CheckTreeBuilder final : public valijson::constraints::ConstraintVisitor {
 public:
  explicit CheckTreeBuilder(CheckTree& t) : t_(t) {}

  uint32_t node_for(const valijson::Subschema* s) {
    if (!s) return kNone;
    if (auto it = ids_.find(s); it != ids_.end()) return it->second;
    uint32_t id = static_cast<uint32_t>(t_.nodes_.size());
    ids_.emplace(s, id);
    t_.nodes_.emplace_back();
    State st;
    State* saved = cur_;
    cur_ = &st;
    st.node.always_invalid = s->getAlwaysInvalid();
    valijson::Subschema::ApplyFunction fn = [this](const valijson::constraints::Constraint& c) {
      return ok() && c.accept(*this);
    };
    s->applyStrict(fn);
    finish(st);
    cur_ = saved;
    t_.nodes_[id] = std::move(st.node);
    return id;
  }

  bool ok() const { return why.empty(); }
  std::string why;

 private:
  struct State {
    CheckTree::Node node;
    bool has_object_plan = false;
    CheckTree::ObjectPlan plan;
  };

  bool unsupported(std::string what) {
    if (why.empty()) why = std::move(what);
    return false;
  }
  void add(CheckTree::Check c) { cur_->node.checks.push_back(c); }
  CheckTree::ObjectPlan& plan() {
    cur_->has_object_plan = true;
    return cur_->plan;
  }

  uint32_t list(std::vector<uint32_t> v) {
    t_.node_lists_.push_back(std::move(v));
    return static_cast<uint32_t>(t_.node_lists_.size() - 1);
  }

  template <typename C>
  bool subschema_list(const C& c, Op op) {
    // Children may be built (and cur_ swapped) while collecting: keep the state pointer.
    State* me = cur_;
    std::vector<uint32_t> ids;
    c.applyToSubschemas([&](unsigned, const valijson::Subschema* s) {
      ids.push_back(node_for(s));
      return true;
    });
    cur_ = me;
    CheckTree::Check k{op};
    k.a = list(std::move(ids));
    add(k);
    return ok();
  }

  bool to_value(const boost::json::value& in, CheckTree::Value& out) {
    using K = CheckTree::Value;
    switch (in.kind()) {
      case boost::json::kind::null: out.kind = K::null; return true;
      case boost::json::kind::bool_: out.kind = K::boolean; out.b = in.get_bool(); return true;
      case boost::json::kind::int64: out.kind = K::number; out.d = static_cast<double>(in.get_int64()); return true;
      case boost::json::kind::uint64: out.kind = K::uint_number; return true;
      case boost::json::kind::double_: out.kind = K::number; out.d = in.get_double(); return true;
      case boost::json::kind::string:
        out.kind = K::string;
        out.s = std::string(c_str_view(in.get_string()));
        return true;
      case boost::json::kind::array:
        out.kind = K::array;
        for (const auto& e : in.get_array()) {
          out.items.emplace_back();
          if (!to_value(e, out.items.back())) return false;
        }
        return true;
      case boost::json::kind::object:
        out.kind = K::object;
        for (const auto& kv : in.get_object()) {
          out.members.push_back({std::string(kv.key()), K{}});
          if (!to_value(kv.value(), out.members.back().second)) return false;
        }
        std::sort(out.members.begin(), out.members.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        return true;
    }
    return false;
  }

  bool values(std::vector<const valijson::adapters::FrozenValue*> in) {
    std::vector<CheckTree::Value> vals;
    for (auto* f : in) {
      const boost::json::value* v = frozen_boost_value(*f);
      if (!v) return unsupported("enum/const value not held as Boost.JSON");
      vals.emplace_back();
      if (!to_value(*v, vals.back())) return unsupported("enum/const value");
    }
    t_.value_lists_.push_back(std::move(vals));
    CheckTree::Check k{Op::enum_values};
    k.a = static_cast<uint32_t>(t_.value_lists_.size() - 1);
    add(k);
    return true;
  }

  void finish(State& st) {
    if (st.has_object_plan) {
      auto& p = st.plan;
      if (p.keys.size() > kMaxObjectKeys) {
        unsupported("more than 256 property names in one object schema");
        return;
      }
      p.index_keys();
      t_.objects_.push_back(std::move(p));
      CheckTree::Check k{Op::object};
      k.a = static_cast<uint32_t>(t_.objects_.size() - 1);
      st.node.checks.push_back(k);
    }
    // Cheap scalar checks first; the verdict is an AND, so the order is free.
    std::stable_sort(st.node.checks.begin(), st.node.checks.end(), [](const CheckTree::Check& a, const CheckTree::Check& b) {
      auto cost = [](Op op) {
        switch (op) {
          case Op::min_length: case Op::max_length: case Op::minimum: case Op::maximum: case Op::min_items:
          case Op::max_items: case Op::min_properties: case Op::max_properties:
            return 0;
          case Op::enum_values: case Op::format: case Op::multiple_of:
            return 1;
          case Op::pattern:
            return 2;
          default:
            return 3;
        }
      };
      return cost(a.op) < cost(b.op);
    });
    st.node.trivial = !st.node.always_invalid && st.node.types == kAllTypes && st.node.checks.empty();
  }

 public:
  // ConstraintVisitor: one method per valijson constraint type; false stops the build.
  bool visit(const AllOfConstraint& c) override { return subschema_list(c, Op::all_of); }
  bool visit(const AnyOfConstraint& c) override { return subschema_list(c, Op::any_of); }
  bool visit(const OneOfConstraint& c) override { return subschema_list(c, Op::one_of); }

  bool visit(const ConditionalConstraint& c) override {
    State* me = cur_;
    CheckTree::Check k{Op::conditional};
    k.a = node_for(c.getIfSubschema());
    k.b = node_for(c.getThenSubschema());
    k.c = node_for(c.getElseSubschema());
    cur_ = me;
    if (k.a == kNone) return unsupported("if without a subschema");
    add(k);
    return ok();
  }

  bool visit(const ConstConstraint& c) override { return values({c.getValue()}); }

  bool visit(const EnumConstraint& c) override {
    std::vector<const valijson::adapters::FrozenValue*> v;
    c.applyToValues([&](const valijson::adapters::FrozenValue& f) {
      v.push_back(&f);
      return true;
    });
    return values(std::move(v));
  }

  bool visit(const ContainsConstraint& c) override {
    State* me = cur_;
    CheckTree::Check k{Op::contains};
    k.a = node_for(c.getSubschema());
    cur_ = me;
    if (k.a == kNone) return unsupported("contains without a subschema");
    add(k);
    return ok();
  }

  bool visit(const DependenciesConstraint& c) override {
    // Names are read through c_str(), as valijson itself stores and looks them up.
    State* me = cur_;
    c.applyToPropertyDependencies([&](const auto& name, const auto& deps) {
      std::string n(name.c_str());
      auto& p = me->plan;
      uint32_t k = p.key_index(n);
      std::vector<uint32_t> d;
      for (const auto& dep : deps) d.push_back(p.key_index(std::string(dep.c_str())));
      p.property_deps.emplace_back(k, std::move(d));
      return true;
    });
    std::vector<std::pair<std::string, const valijson::Subschema*>> schema_deps;
    c.applyToSchemaDependencies([&](const auto& name, const valijson::Subschema* s) {
      schema_deps.emplace_back(std::string(name.c_str()), s);
      return true;
    });
    for (auto& [name, s] : schema_deps) {
      uint32_t node = node_for(s);
      cur_ = me;
      uint32_t k = me->plan.key_index(name);
      me->plan.schema_deps.emplace_back(k, node);
    }
    me->has_object_plan = true;
    return ok();
  }

  bool visit(const FormatConstraint&) override { return unsupported("valijson's own format keyword"); }
  bool visit(const PatternConstraint&) override { return unsupported("valijson's std::regex pattern"); }

  bool visit(const PolyConstraint& c) override {
    if (auto* p = dynamic_cast<const Re2PatternConstraint*>(&c)) {
      t_.regexes_.push_back(p->re());
      CheckTree::Check k{Op::pattern};
      k.a = static_cast<uint32_t>(t_.regexes_.size() - 1);
      add(k);
      return true;
    }
    if (auto* f = dynamic_cast<const FormatCheckConstraint*>(&c)) {
      if (f->format() == Format::unknown) return true;  // an annotation: always passes
      CheckTree::Check k{Op::format};
      k.format = f->format();
      add(k);
      return true;
    }
    if (auto* m = dynamic_cast<const MultipleOfConstraint*>(&c)) {
      CheckTree::Check k{Op::multiple_of};
      k.divisor = m->divisor();
      add(k);
      return true;
    }
    return unsupported("a custom keyword");
  }

  bool visit(const LinearItemsConstraint& c) override {
    State* me = cur_;
    std::vector<uint32_t> ids;
    c.applyToItemSubschemas([&](unsigned, const valijson::Subschema* s) {
      ids.push_back(node_for(s));
      return true;
    });
    CheckTree::Check k{Op::items_linear};
    k.b = node_for(c.getAdditionalItemsSubschema());
    cur_ = me;
    k.a = list(std::move(ids));
    add(k);
    return ok();
  }

  bool visit(const SingularItemsConstraint& c) override {
    State* me = cur_;
    CheckTree::Check k{Op::items_single};
    k.a = node_for(c.getItemsSubschema());
    cur_ = me;
    if (k.a != kNone) add(k);  // no subschema: every item is valid
    return ok();
  }

  bool visit(const MaximumConstraint& c) override {
    CheckTree::Check k{Op::maximum};
    k.x = c.getMaximum();
    k.exclusive = c.getExclusiveMaximum();
    add(k);
    return true;
  }
  bool visit(const MinimumConstraint& c) override {
    CheckTree::Check k{Op::minimum};
    k.x = c.getMinimum();
    k.exclusive = c.getExclusiveMinimum();
    add(k);
    return true;
  }
  bool visit(const MaxItemsConstraint& c) override { return count(Op::max_items, c.getMaxItems()); }
  bool visit(const MinItemsConstraint& c) override { return count(Op::min_items, c.getMinItems()); }
  bool visit(const MaxLengthConstraint& c) override { return count(Op::max_length, c.getMaxLength()); }
  bool visit(const MinLengthConstraint& c) override { return count(Op::min_length, c.getMinLength()); }
  bool visit(const MaxPropertiesConstraint& c) override { return count(Op::max_properties, c.getMaxProperties()); }
  bool visit(const MinPropertiesConstraint& c) override { return count(Op::min_properties, c.getMinProperties()); }

  // The schema compiler renames multipleOf to our own keyword (multiple_of.hpp): valijson's never appear.
  bool visit(const MultipleOfDoubleConstraint&) override { return unsupported("valijson's own multipleOf"); }
  bool visit(const MultipleOfIntConstraint&) override { return unsupported("valijson's own multipleOf"); }

  bool visit(const NotConstraint& c) override {
    State* me = cur_;
    CheckTree::Check k{Op::not_};
    k.a = node_for(c.getSubschema());  // none: valijson treats it as the empty schema, so `not` always fails
    cur_ = me;
    add(k);
    return ok();
  }

  bool visit(const PropertiesConstraint& c) override {
    State* me = cur_;
    bool patterns = false;
    c.applyToPatternProperties([&](const auto&, const valijson::Subschema*) {
      patterns = true;
      return false;
    });
    if (patterns) return unsupported("patternProperties (valijson matches them with std::regex)");
    std::vector<std::pair<std::string, const valijson::Subschema*>> props;
    c.applyToProperties([&](const auto& name, const valijson::Subschema* s) {
      props.emplace_back(std::string(name.c_str()), s);
      return true;
    });
    for (auto& [name, s] : props) {
      uint32_t node = node_for(s);
      cur_ = me;
      uint32_t k = me->plan.key_index(name);
      me->plan.keys[k].in_properties = true;
      me->plan.keys[k].node = node;
    }
    const valijson::Subschema* add_s = c.getAdditionalPropertiesSubschema();
    uint32_t add_node = node_for(add_s);
    cur_ = me;
    me->has_object_plan = true;
    me->plan.has_properties = true;
    me->plan.additional = add_node;
    return ok();
  }

  bool visit(const PropertyNamesConstraint&) override { return unsupported("propertyNames"); }

  bool visit(const RequiredConstraint& c) override {
    auto& p = plan();
    c.applyToRequiredProperties([&](const auto& name) {
      p.required.push_back(p.key_index(std::string(name.c_str())));
      return true;
    });
    return true;
  }

  bool visit(const TypeConstraint& c) override {
    using T = valijson::constraints::TypeConstraint;
    uint16_t mask = 0;
    c.applyToNamedTypes([&](T::JsonType t) {
      switch (t) {
        case T::kAny: mask |= kAllTypes; break;
        case T::kArray: mask |= kArray; break;
        case T::kBoolean: mask |= kBool; break;
        case T::kInteger: mask |= kInt64; break;  // valijson: an integer is a Boost.JSON int64, nothing else
        case T::kNull: mask |= kNull; break;
        case T::kNumber: mask |= kInt64 | kDouble; break;  // valijson's isNumber(): int64 or double, not uint64
        case T::kObject: mask |= kObject; break;
        case T::kString: mask |= kString; break;
      }
      return true;
    });
    bool schema_types = false;
    c.applyToSchemaTypes([&](unsigned, const valijson::Subschema*) {
      schema_types = true;
      return false;
    });
    if (schema_types) return unsupported("draft-3 schema types");
    cur_->node.types &= mask;
    return true;
  }

  bool visit(const UniqueItemsConstraint&) override {
    add(CheckTree::Check{Op::unique_items});
    return true;
  }

 private:
  bool count(Op op, uint64_t n) {
    CheckTree::Check k{op};
    k.n = n;
    add(k);
    return true;
  }

  CheckTree& t_;
  std::unordered_map<const valijson::Subschema*, uint32_t> ids_;
  State* cur_ = nullptr;
};

std::shared_ptr<const CheckTree> CheckTree::build(const valijson::Subschema& root, std::string& why_not) {
  auto t = std::make_shared<CheckTree>();
  CheckTreeBuilder b(*t);
  b.node_for(&root);
  if (!b.ok()) {
    why_not = b.why;
    return nullptr;
  }
  // Properties whose subschema accepts anything are not visited at all.
  for (auto& p : t->objects_) p.additional_trivial = p.additional != kNone && t->nodes_[p.additional].trivial;
  return t;
}

// ---------------------------------------------------------------------------------------------------------
// Checking.

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
