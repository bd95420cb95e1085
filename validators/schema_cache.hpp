// Compiled JSON Schemas (valijson, with `pattern`/`format` on RE2) and a bounded LRU cache of them keyed by
// a hash of the canonical schema text, so the common case compiles nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <variant>

#include <boost/json/value.hpp>
#include <valijson/schema.hpp>

#include "validators/verdict.hpp"

namespace slipway::validators {

class Re2PatternSet;
class CheckTree;

struct CompiledSchema {
  valijson::Schema schema;
  std::string canonical;      // serialised schema text (cache key material)
  uint64_t hash = 0;
  size_t subschemas = 0;
  size_t patterns = 0;
  // valijson 1.0 matches patternProperties with std::regex on property names; instances with a property name
  // longer than kMaxPatternPropertyKey are not handed to it (see validate_against).
  bool has_pattern_properties = false;
  std::shared_ptr<Re2PatternSet> regexes;  // keeps the RE2 programs alive
  // The same schema as a check tree over simdjson's DOM (the fast path, see check_tree.hpp); null when the
  // schema uses a keyword the tree does not compile, and then `tree_unsupported` says which.
  std::shared_ptr<const CheckTree> tree;
  std::string tree_unsupported;
};
using SchemaHandle = std::shared_ptr<const CompiledSchema>;

enum class Draft { auto_detect, draft4, draft6, draft7 };

inline constexpr size_t kMaxPatternPropertyKey = 256;

struct CompileOptions {
  Draft draft = Draft::auto_detect;  // auto: from "$schema", else draft 7
  // Resolves a remote $ref document (URI without fragment) for tests; nullptr: remote refs are an error.
  std::function<const boost::json::value*(const std::string& uri)> fetch_remote;
};

struct CompileError {
  std::string message;  // "<pointer in the schema>: <why>"
};

// Checks the limits (bytes, depth, subschemas, regex program size), rewrites `pattern`/`format` to the RE2
// keywords, and compiles with valijson. Never throws.
std::variant<SchemaHandle, CompileError> compile_schema(const boost::json::value& schema, const Limits& limits,
                                                        const CompileOptions& options = {});

class SchemaCache {
 public:
  explicit SchemaCache(size_t max_entries) : max_entries_(max_entries ? max_entries : 1) {}

  // From the cache when the canonical text was seen before; compiles and inserts otherwise.
  std::variant<SchemaHandle, CompileError> get(const boost::json::value& schema, const Limits& limits);

  size_t size() const { return lru_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  size_t max_entries_;
  std::list<SchemaHandle> lru_;  // front = most recent
  std::unordered_multimap<uint64_t, std::list<SchemaHandle>::iterator> index_;
  uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace slipway::validators
