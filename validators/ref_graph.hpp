// Guards against schemas that would make the evaluator loop or explode without reading the instance:
// `{"$ref": "#"}`, `{"anyOf": [{"$ref": "#"}]}`, or chains of anyOf/allOf/$ref that fan out exponentially.
// Edges are "applies to the same instance" links ($ref to a local pointer, allOf/anyOf/oneOf/not/if/then/else,
// schema-valued dependencies); keywords that descend into the instance (properties, items, ...) are not edges.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace slipway::validators::detail {

class RefGraph {
 public:
  void add_node(const std::string& pointer) { edges_.try_emplace(pointer); }
  void add_edge(const std::string& from, const std::string& to) { edges_[from].push_back(to); }
  // `ref` is the value of a $ref; local JSON-pointer fragments ("#", "#/$defs/a") become edges.
  void add_ref(const std::string& from, const std::string& ref);

  // Empty when fine; otherwise "<pointer>: why".
  std::string check(size_t max_expansion) const;

 private:
  std::map<std::string, std::vector<std::string>> edges_;
};

}  // namespace slipway::validators::detail
