// vllm-sim: turn a valid instance into valid JSON that violates its schema (slippage kinds schema_violation,
// tool_wrong_type, tool_missing_required). Violations are only made where they are certain: a required key
// dropped, a property given a type its `type` does not allow, an enum property given a value outside the enum.
// Properties under anyOf/oneOf are not touched (another branch could still accept the change).
#include "tools/vllm-sim/sim.hpp"

namespace sim {
namespace json = boost::json;
namespace {

enum Kind { Drop = 0, WrongType = 1, BadEnum = 2 };

struct Cand {
  json::object* obj;
  std::string key;
  Kind kind;
  const json::value* prop_schema;
};

const json::value& deref(const json::value& root, const json::value& s) {
  const json::value* cur = &s;
  for (int guard = 0; guard < 16 && cur->is_object(); ++guard) {
    auto* r = cur->get_object().if_contains("$ref");
    if (!r || !r->is_string()) break;
    auto* t = resolve_ref(root, r->get_string());
    if (!t) break;
    cur = t;
  }
  return *cur;
}

void walk(const json::value& root, json::value& v, const json::value& schema_in, std::vector<Cand>& out, int depth) {
  if (depth > 20) return;
  const json::value& s = deref(root, schema_in);
  if (!s.is_object()) return;
  auto& so = s.get_object();
  if (auto* all = so.if_contains("allOf"); all && all->is_array())
    for (auto& b : all->get_array()) walk(root, v, b, out, depth + 1);
  if (v.is_object()) {
    auto& obj = v.get_object();
    if (auto* req = so.if_contains("required"); req && req->is_array())
      for (auto& k : req->get_array())
        if (k.is_string() && obj.contains(k.get_string())) out.push_back({&obj, std::string(k.get_string()), Drop, nullptr});
    if (auto* props = so.if_contains("properties"); props && props->is_object())
      for (auto& kv : props->get_object()) {
        auto* val = obj.if_contains(kv.key());
        if (!val) continue;
        const json::value& ps = deref(root, kv.value());
        if (!ps.is_object()) continue;
        auto& pso = ps.get_object();
        if (pso.contains("type") && !pso.contains("anyOf") && !pso.contains("oneOf"))
          out.push_back({&obj, std::string(kv.key()), WrongType, &ps});
        if (auto* e = pso.if_contains("enum"); e && e->is_array())
          out.push_back({&obj, std::string(kv.key()), BadEnum, &ps});
        walk(root, *val, ps, out, depth + 1);
      }
  } else if (v.is_array()) {
    auto* items = so.if_contains("items");
    if (items && items->is_object()) {
      auto& arr = v.get_array();
      for (std::size_t i = 0; i < arr.size() && i < 4; ++i) walk(root, arr[i], *items, out, depth + 1);
    }
  }
}

bool allows(const json::value& root, const json::value& schema_in, std::string_view t, int guard = 0) {
  const json::value& schema = deref(root, schema_in);
  if (!schema.is_object() || guard > 16) return true;
  auto* ty = schema.get_object().if_contains("type");
  if (!ty) {  // no type here: the union of the anyOf/oneOf branches' types, when every branch has one
    for (const char* k : {"anyOf", "oneOf"})
      if (auto* br = schema.get_object().if_contains(k); br && br->is_array() && !br->get_array().empty()) {
        for (auto& b : br->get_array())
          if (allows(root, b, t, guard + 1)) return true;
        return false;
      }
    return true;
  }
  auto has = [&](std::string_view x) {
    if (ty->is_string()) return ty->get_string() == x;
    if (ty->is_array())
      for (auto& e : ty->get_array())
        if (e.is_string() && e.get_string() == x) return true;
    return false;
  };
  if (t == "integer") return has("integer") || has("number");
  return has(t);
}

// A value whose JSON type the schema's `type` does not allow.
std::optional<json::value> wrong_value(const json::value& root, const json::value& schema, Rng& rng) {
  std::vector<json::value> opts;
  if (!allows(root, schema, "string")) opts.emplace_back("not a number");
  if (!allows(root, schema, "integer")) opts.emplace_back(std::int64_t(rng.range(2, 999)));
  if (!allows(root, schema, "boolean")) opts.emplace_back(true);
  if (!allows(root, schema, "object")) opts.emplace_back(json::object{{"value", "x"}});
  if (!allows(root, schema, "array")) opts.emplace_back(json::array{"x"});
  if (!allows(root, schema, "null")) opts.emplace_back(nullptr);
  if (opts.empty()) return std::nullopt;
  // Prefer the "plausible" mistakes (number as string, string as number) listed first.
  return opts[static_cast<std::size_t>(rng.range(0, std::min<int>(1, int(opts.size()) - 1)))];
}

}  // namespace

bool violate_schema(json::value& inst, const json::value& schema, Rng& rng, int mode) {
  std::vector<Cand> cands;
  walk(schema, inst, schema, cands, 0);
  std::vector<Cand*> ok;
  for (auto& c : cands) {
    if (mode == 1 && c.kind != WrongType) continue;
    if (mode == 2 && c.kind != Drop) continue;
    ok.push_back(&c);
  }
  if (ok.empty()) {
    if (mode == 2) return false;
    if (auto w = wrong_value(schema, schema, rng)) {  // whole instance of the wrong type
      inst = *w;
      return true;
    }
    return false;
  }
  Cand& c = *ok[static_cast<std::size_t>(rng.range(0, int(ok.size()) - 1))];
  switch (c.kind) {
    case Drop: c.obj->erase(c.key); break;
    case WrongType: {
      auto w = wrong_value(schema, *c.prop_schema, rng);
      if (!w) return false;
      (*c.obj)[c.key] = *w;
      break;
    }
    case BadEnum: {
      auto& e = c.prop_schema->get_object().at("enum").get_array();
      json::value bad = "other";
      for (int i = 0; std::find(e.begin(), e.end(), bad) != e.end(); ++i) bad = "other_" + std::to_string(i);
      (*c.obj)[c.key] = bad;
      break;
    }
  }
  return true;
}

}  // namespace sim
