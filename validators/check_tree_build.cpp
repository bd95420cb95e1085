// CheckTree::build: valijson's compiled schema, constraint by constraint, into the check tree's nodes.
#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>

#include <boost/json/value.hpp>
#include <re2/re2.h>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/constraints/concrete_constraints.hpp>
#include <valijson/constraints/constraint_visitor.hpp>
#include <valijson/subschema.hpp>

#include "validators/check_tree_nodes.hpp"
#include "validators/re2_regex.hpp"

namespace slipway::validators {

using namespace check_tree_detail;

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

}  // namespace

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

}  // namespace slipway::validators
