// vllm-sim: generate an instance that is valid for a JSON Schema (draft 7 / 2020-12, the structured-output subset).
// Covered: type (and type lists), properties/required/additionalProperties/minProperties, items, prefixItems,
// draft-7 tuple items/additionalItems, minItems/maxItems/uniqueItems, enum, const, anyOf, oneOf (a branch chosen
// so the instance fits only it when the branches differ by type or by a const/enum discriminator, else the
// first branch), allOf (merged), $ref to local pointers (#, #/$defs/..., #/definitions/...) with a depth cap,
// minimum/maximum/exclusive* (draft-4 boolean form too), multipleOf, minLength/maxLength, format (date-time,
// date, time, email, uuid, uri, hostname, ipv4, ipv6) and simple `pattern`s (see pattern_gen.cpp).
// Not covered: not, if/then/else, patternProperties, dependent*, contains, unevaluated*.
#include "tools/vllm-sim/sim.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

namespace sim {
namespace json = boost::json;

const json::value* resolve_ref(const json::value& root, std::string_view ref) {
  if (ref.empty() || ref[0] != '#') return nullptr;
  ref.remove_prefix(1);
  if (ref.empty()) return &root;
  if (ref[0] != '/') return nullptr;  // anchors are not supported
  std::string ptr;  // percent-decode (URI fragment), then it is a JSON pointer
  for (std::size_t i = 0; i < ref.size(); ++i) {
    if (ref[i] == '%' && i + 2 < ref.size() + 0 && std::isxdigit(static_cast<unsigned char>(ref[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(ref[i + 2]))) {
      ptr.push_back(static_cast<char>(std::stoi(std::string(ref.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      ptr.push_back(ref[i]);
    }
  }
  json::error_code ec;
  const json::value* v = root.find_pointer(ptr, ec);
  return ec ? nullptr : v;
}

namespace {

constexpr int kSoftDepth = 6;   // beyond this: required properties only, minItems, non-recursive branches
constexpr int kHardDepth = 40;  // beyond this: null (unsatisfiable recursion)

bool is_annotation(std::string_view k) {
  return k == "description" || k == "title" || k == "$comment" || k == "examples" || k == "default" ||
         k == "$schema" || k == "$id" || k == "deprecated" || k == "readOnly" || k == "writeOnly";
}

struct Gen {
  const json::value& root;
  Rng& rng;

  const json::value& deref(const json::value& s, int guard = 0) const {
    if (guard < 16 && s.is_object()) {
      auto& o = s.get_object();
      if (auto* r = o.if_contains("$ref"); r && r->is_string()) {
        bool only_ref = true;
        for (auto& kv : o)
          if (kv.key() != "$ref" && !is_annotation(kv.key()) && kv.key() != "$defs" && kv.key() != "definitions")
            only_ref = false;
        if (only_ref)
          if (auto* t = resolve_ref(root, r->get_string())) return deref(*t, guard + 1);
      }
    }
    return s;
  }

  // a's keywords win except properties/required/additionalProperties, which combine.
  void merge_into(json::object& a, const json::object& b) const {
    for (auto& kv : b) {
      auto k = kv.key();
      if (k == "properties" && kv.value().is_object()) {
        auto& pa = a["properties"];
        if (!pa.is_object()) pa = json::object();
        for (auto& p : kv.value().get_object()) {
          auto* existing = pa.get_object().if_contains(p.key());
          if (!existing)
            pa.get_object()[p.key()] = p.value();
          else
            *existing = json::object{{"allOf", json::array{*existing, p.value()}}};
        }
      } else if (k == "required" && kv.value().is_array()) {
        auto& ra = a["required"];
        if (!ra.is_array()) ra = json::array();
        for (auto& r : kv.value().get_array())
          if (std::find(ra.get_array().begin(), ra.get_array().end(), r) == ra.get_array().end())
            ra.get_array().push_back(r);
      } else if (k == "additionalProperties" && kv.value().is_bool() && !kv.value().get_bool()) {
        a[k] = false;
      } else if (!a.contains(k)) {
        a[k] = kv.value();
      }
    }
  }

  // Flatten $ref-with-siblings and allOf into one object schema.
  json::object flatten(const json::object& s, int guard = 0) const {
    json::object out;
    for (auto& kv : s)
      if (kv.key() != "allOf" && kv.key() != "$ref") out[kv.key()] = kv.value();
    if (guard > 12) return out;
    if (auto* r = s.if_contains("$ref"); r && r->is_string())
      if (auto* t = resolve_ref(root, r->get_string()); t && t->is_object())
        merge_into(out, flatten(t->get_object(), guard + 1));
    if (auto* all = s.if_contains("allOf"); all && all->is_array())
      for (auto& b : all->get_array()) {
        const json::value& d = deref(b);
        if (d.is_object()) merge_into(out, flatten(d.get_object(), guard + 1));
      }
    return out;
  }

  std::string pick_type(const json::object& s) {
    if (auto* t = s.if_contains("type")) {
      if (t->is_string()) return std::string(t->get_string());
      if (t->is_array() && !t->get_array().empty()) {
        auto& a = t->get_array();
        std::vector<std::string> non_null;
        for (auto& e : a)
          if (e.is_string() && e.get_string() != "null") non_null.emplace_back(e.get_string());
        if (!non_null.empty() && (non_null.size() == a.size() || !rng.chance(0.15)))
          return non_null[rng.range(0, int(non_null.size()) - 1)];
        return "null";
      }
    }
    if (s.contains("properties") || s.contains("required") || s.contains("additionalProperties")) return "object";
    if (s.contains("items") || s.contains("prefixItems") || s.contains("minItems")) return "array";
    if (s.contains("minLength") || s.contains("maxLength") || s.contains("pattern") || s.contains("format"))
      return "string";
    if (s.contains("minimum") || s.contains("maximum") || s.contains("exclusiveMinimum") ||
        s.contains("exclusiveMaximum") || s.contains("multipleOf"))
      return "number";
    return "string";
  }

  static bool num_of(const json::object& s, const char* k, double& out) {
    auto* v = s.if_contains(k);
    if (!v || !v->is_number()) return false;
    out = v->to_number<double>();
    return true;
  }

  json::value gen_number(const json::object& s, bool integer) {
    double lo = 0, hi = 0, x = 0;
    bool has_lo = num_of(s, "minimum", lo), has_hi = num_of(s, "maximum", hi);
    bool ex_lo = false, ex_hi = false;
    if (num_of(s, "exclusiveMinimum", x)) {
      if (!has_lo || x >= lo) lo = x, has_lo = true, ex_lo = true;
    } else if (auto* b = s.if_contains("exclusiveMinimum"); b && b->is_bool() && b->get_bool()) {
      ex_lo = has_lo;
    }
    if (num_of(s, "exclusiveMaximum", x)) {
      if (!has_hi || x <= hi) hi = x, has_hi = true, ex_hi = true;
    } else if (auto* b = s.if_contains("exclusiveMaximum"); b && b->is_bool() && b->get_bool()) {
      ex_hi = has_hi;
    }
    if (!has_lo && !has_hi) lo = 0, hi = 100;
    else if (!has_lo) lo = hi - 100;
    else if (!has_hi) hi = lo + 100;
    lo = std::clamp(lo, -1e15, 1e15);  // keep integer arithmetic defined for absurd bounds
    hi = std::clamp(hi, -1e15, 1e15);
    double mult = 0;
    num_of(s, "multipleOf", mult);
    if (integer || mult > 0) {
      double m = mult > 0 ? mult : 1;
      double klo = std::ceil(lo / m), khi = std::floor(hi / m);
      if (ex_lo && klo * m <= lo) klo += 1;
      if (ex_hi && khi * m >= hi) khi -= 1;
      if (khi < klo) khi = klo;
      klo = std::clamp(klo, -9e15, 9e15);
      khi = std::clamp(khi, klo, 9e15);
      auto k = rng.range(static_cast<std::int64_t>(klo), static_cast<std::int64_t>(khi));
      double v = static_cast<double>(k) * m;
      if (integer || std::floor(v) == v) return json::value(static_cast<std::int64_t>(std::llround(v)));
      return json::value(v);
    }
    double v = lo + (hi - lo) * (0.05 + 0.9 * rng.uniform());
    v = std::round(v * 100) / 100;
    if (v < lo || v > hi || (ex_lo && v <= lo) || (ex_hi && v >= hi)) v = (lo + hi) / 2;
    return json::value(v);
  }

  std::string gen_format(std::string_view f) {
    char buf[96];
    if (f == "date-time") {
      std::snprintf(buf, sizeof buf, "2024-%02d-%02dT%02d:%02d:%02dZ", int(rng.range(1, 12)), int(rng.range(1, 28)),
                    int(rng.range(0, 23)), int(rng.range(0, 59)), int(rng.range(0, 59)));
    } else if (f == "date") {
      std::snprintf(buf, sizeof buf, "2024-%02d-%02d", int(rng.range(1, 12)), int(rng.range(1, 28)));
    } else if (f == "time") {
      std::snprintf(buf, sizeof buf, "%02d:%02d:%02dZ", int(rng.range(0, 23)), int(rng.range(0, 59)),
                    int(rng.range(0, 59)));
    } else if (f == "email") {
      std::snprintf(buf, sizeof buf, "user%d@example.com", int(rng.range(1, 9999)));
    } else if (f == "uuid") {
      std::string h = hex_id(rng, 32);
      h[12] = '4';
      h[16] = "89ab"[rng.range(0, 3)];
      return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
             h.substr(20, 12);
    } else if (f == "uri" || f == "url" || f == "uri-reference" || f == "iri") {
      std::snprintf(buf, sizeof buf, "https://example.com/item/%d", int(rng.range(1, 99999)));
    } else if (f == "hostname" || f == "idn-hostname") {
      std::snprintf(buf, sizeof buf, "host%d.example.com", int(rng.range(1, 999)));
    } else if (f == "ipv4") {
      std::snprintf(buf, sizeof buf, "10.%d.%d.%d", int(rng.range(0, 255)), int(rng.range(0, 255)),
                    int(rng.range(1, 254)));
    } else if (f == "ipv6") {
      std::snprintf(buf, sizeof buf, "2001:db8::%x", unsigned(rng.range(1, 0xffff)));
    } else {
      return {};
    }
    return buf;
  }

  json::value gen_string(const json::object& s) {
    std::string out;
    if (auto* f = s.if_contains("format"); f && f->is_string()) out = gen_format(f->get_string());
    if (out.empty())
      if (auto* p = s.if_contains("pattern"); p && p->is_string())
        if (auto r = string_for_pattern(p->get_string(), rng)) return json::value(*r);
    double mn = 0, mx = -1;
    num_of(s, "minLength", mn);
    num_of(s, "maxLength", mx);
    mn = std::min(mn, 1e6);
    if (out.empty()) {
      int words = int(rng.range(1, 4));
      if (mx >= 0 && mx < 12) words = 1;
      out = lorem_words(rng, words);
    }
    while (out.size() < static_cast<std::size_t>(mn)) out += out.size() % 6 == 5 ? ' ' : 'a' + char(out.size() % 26);
    if (mx >= 0 && out.size() > static_cast<std::size_t>(mx)) out.resize(static_cast<std::size_t>(mx));
    return json::value(out);
  }

  json::value gen_object(const json::object& s, int depth) {
    json::object out;
    bool minimal = depth >= kSoftDepth;
    const json::object* props = nullptr;
    if (auto* p = s.if_contains("properties"); p && p->is_object()) props = &p->get_object();
    std::set<std::string_view> req;
    if (auto* r = s.if_contains("required"); r && r->is_array())
      for (auto& k : r->get_array())
        if (k.is_string()) req.insert(k.get_string());
    const json::value* addl = s.if_contains("additionalProperties");
    bool closed = addl && addl->is_bool() && !addl->get_bool();
    if (props)
      for (auto& kv : *props) {
        if (kv.value().is_bool() && !kv.value().get_bool()) continue;  // `false`: must not appear
        bool required = req.count(kv.key()) > 0;
        if (required || (!minimal && rng.chance(0.7))) out[kv.key()] = gen(kv.value(), depth + 1);
      }
    for (auto k : req)
      if (!out.contains(k)) {
        if (addl && addl->is_object())
          out[k] = gen(*addl, depth + 1);
        else
          out[k] = json::value(lorem_words(rng, 1));
      }
    double min_props = 0;
    num_of(s, "minProperties", min_props);
    min_props = std::min(min_props, 1000.0);
    if (props)
      for (auto& kv : *props) {
        if (out.size() >= static_cast<std::size_t>(min_props)) break;
        if (!out.contains(kv.key())) out[kv.key()] = gen(kv.value(), depth + 1);
      }
    for (int i = 0; !closed && out.size() < static_cast<std::size_t>(min_props); ++i)
      out["extra_" + std::to_string(i)] =
          addl && addl->is_object() ? gen(*addl, depth + 1) : json::value(lorem_words(rng, 1));
    return out;
  }

  json::value gen_array(const json::object& s, int depth) {
    json::array out;
    const json::array* prefix = nullptr;
    const json::value* items = s.if_contains("items");
    const json::value* rest = items;
    if (auto* p = s.if_contains("prefixItems"); p && p->is_array()) {
      prefix = &p->get_array();
    } else if (items && items->is_array()) {  // draft-7 tuple form
      prefix = &items->get_array();
      rest = s.if_contains("additionalItems");
    }
    double mn = 0, mx = -1;
    num_of(s, "minItems", mn);
    bool has_max = num_of(s, "maxItems", mx);
    mn = std::min(mn, 10000.0);  // absurd sizes are capped (the instance is then invalid)
    if (has_max) mx = std::min(mx, 10000.0);
    std::int64_t lo = static_cast<std::int64_t>(mn), hi = has_max ? static_cast<std::int64_t>(mx) : std::max<std::int64_t>(lo, 3);
    std::int64_t n = depth >= kSoftDepth ? lo : rng.range(std::max<std::int64_t>(lo, std::min<std::int64_t>(1, hi)), std::max(lo, std::min(hi, std::max<std::int64_t>(lo, 3))));
    std::int64_t np = prefix ? static_cast<std::int64_t>(prefix->size()) : 0;
    if (prefix && depth < kSoftDepth) n = std::max(n, std::min(np, has_max ? hi : np));
    bool rest_closed = rest && rest->is_bool() && !rest->get_bool();
    if (rest_closed) n = std::min(n, np);
    bool unique = false;
    if (auto* u = s.if_contains("uniqueItems"); u && u->is_bool()) unique = u->get_bool();
    std::set<std::string> seen;
    for (std::int64_t i = 0; i < n; ++i) {
      const json::value* sub = i < np ? &(*prefix)[static_cast<std::size_t>(i)] : rest;
      if (sub && sub->is_bool() && !sub->get_bool()) break;  // no item may be here
      json::value v;
      for (int attempt = 0; attempt < 24; ++attempt) {
        v = sub ? gen(*sub, depth + 1) : json::value(lorem_words(rng, 1));
        if (!unique || seen.insert(json::serialize(v)).second) break;
        if (attempt == 23) return out;  // cannot make more distinct items
      }
      out.push_back(std::move(v));
    }
    return out;
  }

  // For oneOf: true when branches are told apart by distinct explicit types; sets disc to a discriminator
  // property (const/enum with distinct values in every branch) when there is one.
  bool branches_distinct(const json::array& br, std::string& disc) const {
    std::set<std::string> types;
    bool by_type = true;
    for (auto& b : br) {
      auto& d = deref(b);
      auto* t = d.is_object() ? d.get_object().if_contains("type") : nullptr;
      if (!t || !t->is_string() || !types.insert(std::string(t->get_string())).second) by_type = false;
    }
    if (by_type) return true;
    auto& first = deref(br[0]);
    auto* fp = first.is_object() ? first.get_object().if_contains("properties") : nullptr;
    if (!fp || !fp->is_object()) return false;
    for (auto& cand : fp->get_object()) {
      std::set<std::string> vals;
      bool ok = true;
      for (auto& b : br) {
        auto& d = deref(b);
        auto* p = d.is_object() ? d.get_object().if_contains("properties") : nullptr;
        auto* ps = p && p->is_object() ? p->get_object().if_contains(cand.key()) : nullptr;
        auto* pso = ps ? &deref(*ps) : nullptr;
        const json::value* c = pso && pso->is_object() ? pso->get_object().if_contains("const") : nullptr;
        if (!c && pso && pso->is_object())
          if (auto* e = pso->get_object().if_contains("enum"); e && e->is_array() && e->get_array().size() == 1)
            c = &e->get_array()[0];
        if (!c || !vals.insert(json::serialize(*c)).second) ok = false;
        if (!ok) break;
      }
      if (ok) {
        disc = std::string(cand.key());
        return true;
      }
    }
    return false;
  }

  json::value gen_branch(const json::object& parent, const char* key, int depth) {
    auto& br = parent.at(key).get_array();
    std::size_t idx = 0;
    std::string disc;
    bool one = std::string_view(key) == "oneOf";
    if (!one || branches_distinct(br, disc)) {
      idx = static_cast<std::size_t>(rng.range(0, int(br.size()) - 1));
      if (depth >= kSoftDepth)  // prefer a branch that does not recurse
        for (std::size_t i = 0; i < br.size(); ++i) {
          auto& d = br[i];
          if (d.is_object() && !d.get_object().contains("$ref") && !d.get_object().contains("properties") &&
              !d.get_object().contains("items")) {
            idx = i;
            break;
          }
        }
    }
    json::object merged;
    for (auto& kv : parent)
      if (kv.key() != key) merged[kv.key()] = kv.value();
    auto& b = deref(br[idx]);
    if (b.is_object()) merge_into(merged, flatten(b.get_object()));
    if (!disc.empty()) merge_into(merged, json::object{{"required", json::array{json::value(disc)}}});
    return gen(json::value(std::move(merged)), depth);
  }

  json::value gen(const json::value& schema_in, int depth) {
    if (depth > kHardDepth) return nullptr;
    const json::value& schema = deref(schema_in);
    if (schema.is_bool()) return schema.get_bool() ? json::value(lorem_words(rng, 1)) : json::value(nullptr);
    if (!schema.is_object()) return json::value(lorem_words(rng, 1));
    const json::object& s0 = schema.get_object();
    if (s0.contains("allOf") || s0.contains("$ref")) return gen(json::value(flatten(s0)), depth);
    if (auto* c = s0.if_contains("const")) return *c;
    if (auto* e = s0.if_contains("enum"); e && e->is_array() && !e->get_array().empty()) {
      auto& a = e->get_array();
      return a[static_cast<std::size_t>(rng.range(0, int(a.size()) - 1))];
    }
    if (auto* a = s0.if_contains("oneOf"); a && a->is_array() && !a->get_array().empty())
      return gen_branch(s0, "oneOf", depth);
    if (auto* a = s0.if_contains("anyOf"); a && a->is_array() && !a->get_array().empty())
      return gen_branch(s0, "anyOf", depth);
    std::string t = pick_type(s0);
    if (t == "object") return gen_object(s0, depth);
    if (t == "array") return gen_array(s0, depth);
    if (t == "integer") return gen_number(s0, true);
    if (t == "number") return gen_number(s0, false);
    if (t == "boolean") return json::value(rng.chance(0.5));
    if (t == "null") return nullptr;
    return gen_string(s0);
  }
};

}  // namespace

json::value make_instance(const json::value& schema, Rng& rng) {
  Gen g{schema, rng};
  return g.gen(schema, 0);
}

int schema_depth_impl(const json::value& root, const json::value& s, int guard) {
  if (guard > 24 || !s.is_object()) return 0;
  auto& o = s.get_object();
  int inner = 0;
  auto sub = [&](const json::value& v) { inner = std::max(inner, schema_depth_impl(root, v, guard + 1)); };
  bool container = false;
  if (auto* p = o.if_contains("properties"); p && p->is_object()) {
    container = true;
    for (auto& kv : p->get_object()) sub(kv.value());
  }
  if (auto* a = o.if_contains("additionalProperties"); a && a->is_object()) container = true, sub(*a);
  if (auto* i = o.if_contains("items")) {
    container = true;
    if (i->is_array())
      for (auto& e : i->get_array()) sub(e);
    else
      sub(*i);
  }
  if (auto* p = o.if_contains("prefixItems"); p && p->is_array()) {
    container = true;
    for (auto& e : p->get_array()) sub(e);
  }
  if (auto* t = o.if_contains("type"); t && t->is_string() && (t->get_string() == "object" || t->get_string() == "array"))
    container = true;
  int same = 0;  // combinators and refs do not add a level
  for (const char* k : {"anyOf", "oneOf", "allOf"})
    if (auto* a = o.if_contains(k); a && a->is_array())
      for (auto& e : a->get_array()) same = std::max(same, schema_depth_impl(root, e, guard + 1));
  if (auto* r = o.if_contains("$ref"); r && r->is_string())
    if (auto* t = resolve_ref(root, r->get_string())) same = std::max(same, schema_depth_impl(root, *t, guard + 1));
  return std::max(same, container ? 1 + inner : inner);
}

int schema_depth(const json::value& schema) { return schema_depth_impl(schema, schema, 0); }

}  // namespace sim
