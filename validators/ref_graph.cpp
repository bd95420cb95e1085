#include "validators/ref_graph.hpp"

#include <functional>
#include <unordered_map>

#include <valijson/internal/uri.hpp>

namespace slipway::validators::detail {

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

void RefGraph::add_ref(const std::string& from, const std::string& raw_ref) {
  // valijson reads the $ref through c_str(): "#\u0000x" is "#" to it.
  const std::string ref = raw_ref.substr(0, raw_ref.find('\0'));
  // valijson fetches (or refuses) only absolute URIs and URNs; any other document part ("H/x", "a.json#/b")
  // it resolves against the current document, so that is a local edge too: {"$ref":"H/x"} is a cycle to
  // the root that would recurse until the stack overflows (found by tests/fuzz/fuzz_schema.cpp).
  std::size_t hash = ref.find('#');
  std::string uri = ref.substr(0, hash);
  if (!uri.empty() && (valijson::internal::uri::isUriAbsolute(uri) || valijson::internal::uri::isUrn(uri))) return;
  std::string frag = hash == std::string::npos ? std::string() : percent_decode(ref.substr(hash + 1));
  if (!frag.empty() && frag[0] != '/') return;  // plain-name anchor
  // valijson skips empty reference tokens: "#/" and "#//" are the root to it, "#//a" is "#/a". So does
  // the graph ({"$ref":"#/"} recursed until the stack overflowed: found by tests/fuzz/fuzz_schema.cpp).
  std::string pointer;
  for (std::size_t i = 0; i < frag.size();) {
    std::size_t next = frag.find('/', i + 1);
    if (next == std::string::npos) next = frag.size();
    if (next > i + 1) pointer.append(frag, i, next - i);
    i = next;
  }
  add_edge(from, pointer);
}

std::string RefGraph::check(size_t max_expansion) const {
  // Depth-first search: a back edge is a cycle; memoised counts of nodes reached (with multiplicity) bound
  // the fan-out one instance node can trigger.
  enum Color : unsigned char { white, grey, black };
  std::unordered_map<std::string, Color> color;
  std::unordered_map<std::string, size_t> expansion;
  std::string error;
  std::function<size_t(const std::string&, int)> visit = [&](const std::string& n, int depth) -> size_t {
    if (!error.empty()) return 0;
    auto& c = color[n];
    if (c == grey) {
      error = (n.empty() ? std::string("/") : n) +
              ": $ref/allOf/anyOf/oneOf cycle that never descends into the instance (infinite recursion)";
      return 0;
    }
    if (c == black) return expansion[n];
    if (depth > 10000) {
      error = (n.empty() ? std::string("/") : n) + ": $ref chain too long";
      return 0;
    }
    c = grey;
    size_t total = 1;
    auto it = edges_.find(n);
    if (it != edges_.end()) {
      for (const auto& to : it->second) {
        if (!edges_.count(to)) continue;  // target is not a schema we know of: valijson decides
        total += visit(to, depth + 1);
        if (total > max_expansion) total = max_expansion + 1;
      }
    }
    color[n] = black;
    expansion[n] = total;
    if (total > max_expansion && error.empty())
      error = (n.empty() ? std::string("/") : n) + ": applicator/$ref fan-out expands to more than " +
              std::to_string(max_expansion) + " subschema evaluations per value";
    return total;
  };
  for (const auto& [n, _] : edges_) {
    visit(n, 0);
    if (!error.empty()) return error;
  }
  return {};
}

}  // namespace slipway::validators::detail
