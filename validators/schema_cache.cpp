#include "validators/schema_cache.hpp"

#include <exception>
#include <string_view>

#include <boost/json/serialize.hpp>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema_parser.hpp>

#include "validators/check_tree.hpp"
#include "validators/json_util.hpp"
#include "validators/multiple_of.hpp"
#include "validators/re2_regex.hpp"
#include "validators/ref_graph.hpp"

namespace slipway::validators {

namespace {

namespace bj = boost::json;

// Longest $ref / $id / id string accepted: valijson runs a std::regex over them (see the Rewriter).
constexpr size_t kMaxUriBytes = 2048;

// Walks a schema document, keyword-aware, producing the rewritten copy valijson compiles.
class Rewriter {
 public:
  Rewriter(const Limits& limits, Re2PatternSet& regexes) : limits_(limits), regexes_(regexes) {}

  bool run(const bj::value& in, bj::value& out) { return schema(in, out, "", 1); }

  std::string error;
  size_t subschemas = 0;
  size_t patterns = 0;
  bool saw_pattern_properties = false;
  detail::RefGraph graph;

 private:
  bool fail(const std::string& path, std::string why) {
    error = (path.empty() ? std::string("/") : path) + ": " + std::move(why);
    return false;
  }

  bool depth_ok(size_t depth, const std::string& path) {
    if (depth > limits_.max_schema_depth)
      return fail(path, "schema nested deeper than " + std::to_string(limits_.max_schema_depth) + " levels");
    return true;
  }

  // A value that is not a schema (enum, const, default, examples): copied as-is, depth still bounded.
  bool data(const bj::value& in, bj::value& out, const std::string& path, size_t depth) {
    if (!depth_ok(depth, path)) return false;
    if (in.is_object()) {
      bj::object o;
      for (const auto& kv : in.get_object()) {
        bj::value v;
        if (!data(kv.value(), v, path, depth + 1)) return false;
        o.emplace(kv.key(), std::move(v));
      }
      out = std::move(o);
    } else if (in.is_array()) {
      bj::array a;
      for (const auto& v : in.get_array()) {
        bj::value c;
        if (!data(v, c, path, depth + 1)) return false;
        a.push_back(std::move(c));
      }
      out = std::move(a);
    } else {
      out = in;
    }
    return true;
  }

  bool schema(const bj::value& in, bj::value& out, const std::string& path, size_t depth) {
    if (!depth_ok(depth, path)) return false;
    if (!in.is_object()) {
      out = in;  // boolean schemas, or garbage valijson will reject
      return true;
    }
    if (++subschemas > limits_.max_subschemas)
      return fail(path, "more than " + std::to_string(limits_.max_subschemas) + " subschemas");
    graph.add_node(path);
    bj::object o;
    for (const auto& kv : in.get_object()) {
      std::string_view key = kv.key();
      std::string kpath = path;
      detail::append_pointer_token(kpath, key);
      const bj::value& v = kv.value();
      bj::value nv;
      if (key == "pattern" && v.is_string()) {
        std::string err;
        if (!regexes_.compile(std::string(v.get_string()), err)) return fail(kpath, err);
        ++patterns;
        o.emplace(kPatternKeyword, v);
        continue;
      }
      if (key == "multipleOf" || key == "divisibleBy") {
        // Ours, not valijson's (multiple_of.hpp). JSON Schema requires a number strictly greater than 0; an
        // integer above INT64_MAX would reach the keyword's builder as neither an int64 nor a double.
        if (!(v.is_int64() || v.is_double()) || !(v.to_number<double>() > 0))
          return fail(kpath, "must be a number greater than 0 (and at most 9223372036854775807)");
        o.emplace(kMultipleOfKeyword, v);
        continue;
      }
      if (key == "format" && v.is_string()) {
        o.emplace(kFormatKeyword, v);
        continue;
      }
      if ((key == "$ref" || key == "$id" || key == "id") && v.is_string() && v.get_string().size() > kMaxUriBytes) {
        // valijson matches these against a std::regex (isUrn) that recurses once per character: a 60 KB
        // "urn:..." $ref overflowed the stack (found by tests/fuzz/fuzz_schema.cpp). Real ones are short.
        return fail(kpath, "longer than " + std::to_string(kMaxUriBytes) + " bytes");
      }
      if (key == "$ref" && v.is_string()) graph.add_ref(path, std::string(v.get_string()));
      if (key == "allOf" || key == "anyOf" || key == "oneOf") {
        if (v.is_array())
          for (size_t i = 0; i < v.get_array().size(); ++i) graph.add_edge(path, kpath + "/" + std::to_string(i));
      } else if (key == "not" || key == "if" || key == "then" || key == "else") {
        graph.add_edge(path, kpath);
      } else if (key == "dependencies" && v.is_object()) {
        for (const auto& p : v.get_object()) {
          std::string dpath = kpath;
          detail::append_pointer_token(dpath, p.key());
          if (p.value().is_object()) graph.add_edge(path, dpath);
        }
      }
      if (key == "enum" || key == "const" || key == "default" || key == "examples") {
        if (!data(v, nv, kpath, depth + 1)) return false;
      } else if (key == "properties" || key == "patternProperties" || key == "definitions" || key == "$defs" ||
                 key == "dependencies") {
        if (v.is_object()) {
          bj::object m;
          for (const auto& p : v.get_object()) {
            std::string ppath = kpath;
            detail::append_pointer_token(ppath, p.key());
            if (key == "patternProperties") {
              saw_pattern_properties = true;
              std::string err;
              if (!regexes_.compile(std::string(p.key()), err)) return fail(ppath, err);
              ++patterns;
            }
            bj::value c;
            if (!(p.value().is_array() ? data(p.value(), c, ppath, depth + 2)
                                       : schema(p.value(), c, ppath, depth + 2)))
              return false;
            m.emplace(p.key(), std::move(c));
          }
          nv = std::move(m);
        } else {
          nv = v;
        }
      } else if (key == "allOf" || key == "anyOf" || key == "oneOf" || key == "items") {
        if (v.is_array()) {
          bj::array a;
          size_t i = 0;
          for (const auto& item : v.get_array()) {
            std::string ipath = kpath + "/" + std::to_string(i++);
            bj::value c;
            if (!schema(item, c, ipath, depth + 2)) return false;
            a.push_back(std::move(c));
          }
          nv = std::move(a);
        } else if (!schema(v, nv, kpath, depth + 1)) {
          return false;
        }
      } else if (key == "required" || key == "type" || key == "$ref" || key == "$id" || key == "id" ||
                 key == "$schema" || key == "title" || key == "description" || key == "$comment") {
        if (!data(v, nv, kpath, depth + 1)) return false;
      } else if (v.is_object()) {
        // additionalProperties, additionalItems, not, contains, propertyNames, if/then/else, and unknown
        // keywords (a $ref may point into them): all walked as schemas.
        if (!schema(v, nv, kpath, depth + 1)) return false;
      } else if (!data(v, nv, kpath, depth + 1)) {
        return false;
      }
      o.emplace(key, std::move(nv));
    }
    out = std::move(o);
    return true;
  }

  const Limits& limits_;
  Re2PatternSet& regexes_;
};

valijson::SchemaParser::Version parser_version(const bj::value& schema, Draft d) {
  if (d == Draft::draft4) return valijson::SchemaParser::kDraft4;
  if (d == Draft::auto_detect && schema.is_object()) {
    if (auto* s = schema.get_object().if_contains("$schema"); s && s->is_string()) {
      std::string_view v = s->get_string();
      if (v.find("draft-04") != std::string_view::npos) return valijson::SchemaParser::kDraft4;
      if (v.find("draft-03") != std::string_view::npos) return valijson::SchemaParser::kDraft3;
    }
  }
  return valijson::SchemaParser::kDraft7;  // draft 6 is parsed as draft 7 (its superset for our purposes)
}

}  // namespace

std::variant<SchemaHandle, CompileError> compile_schema(const bj::value& schema, const Limits& limits,
                                                        const CompileOptions& options) {
  auto out = std::make_shared<CompiledSchema>();
  out->canonical = bj::serialize(schema);
  out->hash = std::hash<std::string_view>{}(out->canonical);
  if (out->canonical.size() > limits.max_schema_bytes)
    return CompileError{"/: schema is " + std::to_string(out->canonical.size()) + " bytes, more than " +
                        std::to_string(limits.max_schema_bytes)};
  if (!schema.is_object() && !schema.is_bool()) return CompileError{"/: a schema must be an object"};
  out->regexes = std::make_shared<Re2PatternSet>(limits.max_regex_program_size);
  Rewriter rw(limits, *out->regexes);
  bj::value rewritten;
  if (!rw.run(schema, rewritten)) return CompileError{rw.error};
  // Before valijson sees it: it recurses forever on {"$ref":"#"} (at compile and at validation time).
  if (std::string cyc = rw.graph.check(limits.max_subschemas * 10); !cyc.empty()) return CompileError{cyc};
  out->subschemas = rw.subschemas;
  out->patterns = rw.patterns;
  out->has_pattern_properties = rw.saw_pattern_properties;

  // Remote documents are rewritten the same way and kept alive for the duration of the parse.
  std::list<bj::value> remote_docs;
  try {
    valijson::SchemaParser parser(parser_version(schema, options.draft));
    register_re2_keywords(parser, out->regexes);
    register_multiple_of_keyword(parser);
    valijson::adapters::BoostJsonAdapter adapter(rewritten);
    if (options.fetch_remote) {
      auto fetch = [&](const std::string& uri) -> const bj::value* {
        const bj::value* doc = options.fetch_remote(uri);
        if (!doc) return nullptr;
        Rewriter r2(limits, *out->regexes);
        bj::value rd;
        if (!r2.run(*doc, rd)) return nullptr;
        remote_docs.push_back(std::move(rd));
        return &remote_docs.back();
      };
      auto free_doc = [](const bj::value*) {};
      parser.populateSchema(adapter, out->schema, std::function<const bj::value*(const std::string&)>(fetch),
                            std::function<void(const bj::value*)>(free_doc));
    } else {
      parser.populateSchema(adapter, out->schema);
    }
  } catch (const std::exception& e) {
    return CompileError{std::string("/: schema rejected: ") + e.what()};
  }
  out->tree = CheckTree::build(out->schema, out->tree_unsupported);
  return SchemaHandle(std::move(out));
}

std::variant<SchemaHandle, CompileError> SchemaCache::get(const bj::value& schema, const Limits& limits) {
  std::string canonical = bj::serialize(schema);
  uint64_t h = std::hash<std::string_view>{}(canonical);
  auto [b, e] = index_.equal_range(h);
  for (auto it = b; it != e; ++it) {
    if ((*it->second)->canonical == canonical) {
      lru_.splice(lru_.begin(), lru_, it->second);
      ++hits_;
      return *lru_.begin();
    }
  }
  ++misses_;
  auto r = compile_schema(schema, limits);
  if (auto* h2 = std::get_if<SchemaHandle>(&r)) {
    lru_.push_front(*h2);
    index_.emplace(h, lru_.begin());
    while (lru_.size() > max_entries_) {
      auto last = std::prev(lru_.end());
      auto [lb, le] = index_.equal_range((*last)->hash);
      for (auto it = lb; it != le; ++it) {
        if (it->second == last) {
          index_.erase(it);
          break;
        }
      }
      lru_.pop_back();
    }
  }
  return r;
}

}  // namespace slipway::validators
