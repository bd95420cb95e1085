// vllm-sim: produce a string matching a simple regular expression (JSON Schema `pattern`).
// Subset: literals, ., escapes \d \w \s \D \W \S and escaped punctuation, classes [a-z0-9_-] and [^...],
// groups (...) / (?:...), alternation |, quantifiers * + ? {n} {n,} {n,m} (lazy forms too), anchors ^ $ \b.
// Not supported (nullopt, the caller falls back to a plain string): lookaround, backreferences, \p{...}.
// Every result is checked with std::regex (ECMAScript) before it is used.
#include "tools/vllm-sim/sim.hpp"

#include <regex>

namespace sim {
namespace {

struct Node {
  enum Kind { Lit, Class, Seq, Alt, Repeat } kind = Seq;
  std::string chars;  // Lit: the text; Class: allowed characters
  std::vector<Node> kids;
  int lo = 1, hi = 1;
};

const std::string kDigits = "0123456789";
const std::string kLower = "abcdefghijklmnopqrstuvwxyz";
const std::string kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const std::string kWord = kLower + kUpper + kDigits + "_";

struct Unsupported {};

struct Parser {
  std::string_view p;
  std::size_t i = 0;

  bool eof() const { return i >= p.size(); }
  char peek() const { return p[i]; }

  // Characters for an escape inside or outside a class; empty string means "matches empty" (\b).
  std::string escape(bool in_class) {
    if (eof()) throw Unsupported{};
    char c = p[i++];
    switch (c) {
      case 'd': return kDigits;
      case 'w': return kWord;
      case 's': return " ";
      case 'D': return kLower;
      case 'W': return "-";
      case 'S': return kLower;
      case 'n': return "\n";
      case 't': return "\t";
      case 'b':
        if (in_class) return "\b";
        return {};
      case 'B': case 'p': case 'P': case 'k': case 'x': case 'u': case 'c':
        throw Unsupported{};
      default:
        if (c >= '0' && c <= '9') throw Unsupported{};  // backreference
        return std::string(1, c);
    }
  }

  Node cls() {  // after '['
    bool neg = false;
    if (!eof() && peek() == '^') neg = true, ++i;
    std::string set;
    bool first = true;
    while (!eof() && (peek() != ']' || first)) {
      first = false;
      std::string item;
      char c = p[i++];
      if (c == '\\') {
        item = escape(true);
      } else {
        item = std::string(1, c);
      }
      if (item.size() == 1 && i + 1 < p.size() && peek() == '-' && p[i + 1] != ']') {
        ++i;
        char hi = p[i++];
        if (hi == '\\') {
          auto e = escape(true);
          if (e.size() != 1) throw Unsupported{};
          hi = e[0];
        }
        for (int ch = static_cast<unsigned char>(item[0]); ch <= static_cast<unsigned char>(hi); ++ch)
          set.push_back(static_cast<char>(ch));
      } else {
        set += item;
      }
    }
    if (eof()) throw Unsupported{};
    ++i;  // ']'
    Node n;
    n.kind = Node::Class;
    if (neg) {
      for (char ch : kLower + kUpper + kDigits + "-_ ")
        if (set.find(ch) == std::string::npos) n.chars.push_back(ch);
    } else {
      n.chars = set;
    }
    if (n.chars.empty()) throw Unsupported{};
    return n;
  }

  Node atom() {
    char c = p[i++];
    Node n;
    if (c == '(') {
      if (!eof() && peek() == '?') {
        if (i + 1 < p.size() && p[i + 1] == ':')
          i += 2;
        else
          throw Unsupported{};
      }
      n = alt();
      if (eof() || peek() != ')') throw Unsupported{};
      ++i;
      return n;
    }
    if (c == '[') return cls();
    if (c == '.') {
      n.kind = Node::Class;
      n.chars = kLower + kDigits;
      return n;
    }
    if (c == '^' || c == '$') return Node{};  // empty sequence
    if (c == '\\') {
      std::string e = escape(false);
      if (e.empty()) return Node{};
      n.kind = e.size() == 1 ? Node::Lit : Node::Class;
      n.chars = e;
      return n;
    }
    if (c == '*' || c == '+' || c == '?' || c == '{' || c == ')') throw Unsupported{};
    n.kind = Node::Lit;
    n.chars = std::string(1, c);
    return n;
  }

  int number() {
    int v = 0;
    bool any = false;
    while (!eof() && peek() >= '0' && peek() <= '9') v = v * 10 + (p[i++] - '0'), any = true;
    if (!any) throw Unsupported{};
    return v;
  }

  Node seq() {
    Node s;
    s.kind = Node::Seq;
    while (!eof() && peek() != '|' && peek() != ')') {
      Node a = atom();
      if (!eof() && (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{')) {
        Node r;
        r.kind = Node::Repeat;
        char q = p[i++];
        if (q == '*') r.lo = 0, r.hi = 3;
        else if (q == '+') r.lo = 1, r.hi = 4;
        else if (q == '?') r.lo = 0, r.hi = 1;
        else {
          r.lo = number();
          r.hi = r.lo;
          if (!eof() && peek() == ',') {
            ++i;
            r.hi = (!eof() && peek() == '}') ? r.lo + 3 : number();
          }
          if (eof() || peek() != '}') throw Unsupported{};
          ++i;
        }
        if (!eof() && peek() == '?') ++i;  // lazy
        if (r.hi < r.lo || r.hi > 10000) throw Unsupported{};
        r.kids.push_back(std::move(a));
        s.kids.push_back(std::move(r));
      } else {
        s.kids.push_back(std::move(a));
      }
    }
    return s;
  }

  Node alt() {
    Node first = seq();
    if (eof() || peek() != '|') return first;
    Node a;
    a.kind = Node::Alt;
    a.kids.push_back(std::move(first));
    while (!eof() && peek() == '|') {
      ++i;
      a.kids.push_back(seq());
    }
    return a;
  }
};

void emit(const Node& n, Rng& rng, std::string& out) {
  switch (n.kind) {
    case Node::Lit: out += n.chars; break;
    case Node::Class: out.push_back(n.chars[static_cast<std::size_t>(rng.range(0, int(n.chars.size()) - 1))]); break;
    case Node::Seq:
      for (auto& k : n.kids) emit(k, rng, out);
      break;
    case Node::Alt: emit(n.kids[static_cast<std::size_t>(rng.range(0, int(n.kids.size()) - 1))], rng, out); break;
    case Node::Repeat: {
      auto times = rng.range(n.lo, n.hi);
      for (std::int64_t t = 0; t < times; ++t) emit(n.kids[0], rng, out);
      break;
    }
  }
}

}  // namespace

std::optional<std::string> string_for_pattern(std::string_view pattern, Rng& rng) {
  try {
    Parser ps{pattern};
    Node root = ps.alt();
    if (!ps.eof()) return std::nullopt;
    std::regex re(pattern.begin(), pattern.end(), std::regex::ECMAScript);
    for (int attempt = 0; attempt < 4; ++attempt) {
      std::string out;
      emit(root, rng, out);
      if (std::regex_search(out, re)) return out;
    }
  } catch (const Unsupported&) {
  } catch (const std::regex_error&) {
  }
  return std::nullopt;
}

}  // namespace sim
