#include "validators/verdict.hpp"

#include <array>
#include <cstdio>

namespace slipway::validators {

namespace {
constexpr std::array<std::string_view, kFindingKindCount> kNames = {
    "json_invalid",          "schema_violation",     "tool_unknown_function", "tool_args_invalid_json",
    "tool_args_schema_violation", "tool_choice_violated", "tool_call_in_content", "refusal",
    "truncated",             "empty",                "assembled_too_large",
};
}  // namespace

std::string_view to_string(FindingKind k) {
  auto i = static_cast<size_t>(k);
  return i < kNames.size() ? kNames[i] : std::string_view("unknown");
}

bool finding_kind_from_string(std::string_view s, FindingKind& out) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == s) {
      out = static_cast<FindingKind>(i);
      return true;
    }
  }
  return false;
}

bool Verdict::ok() const { return first_failing() == nullptr; }

bool Verdict::has(FindingKind k) const {
  for (const auto& f : findings)
    if (f.kind == k) return true;
  return false;
}

uint32_t Verdict::kinds_mask() const {
  uint32_t m = 0;
  for (const auto& f : findings) m |= 1u << static_cast<unsigned>(f.kind);
  return m;
}

const Finding* Verdict::first_failing() const {
  for (const auto& f : findings)
    if (f.failing) return &f;
  return nullptr;
}

void Verdict::add(FindingKind kind, std::string detail, std::string path, bool failing) {
  findings.push_back(Finding{kind, std::move(detail), std::move(path), failing});
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

std::string to_json(const Verdict& v) {
  std::string out;
  out.reserve(128 + 96 * v.findings.size());
  out += "{\"ok\":";
  out += v.ok() ? "true" : "false";
  out += ",\"findings\":[";
  bool first = true;
  for (const auto& f : v.findings) {
    if (!first) out.push_back(',');
    first = false;
    out += "{\"kind\":";
    append_json_string(out, to_string(f.kind));
    out += ",\"detail\":";
    append_json_string(out, f.detail);
    out += ",\"path\":";
    append_json_string(out, f.path);
    out += ",\"failing\":";
    out += f.failing ? "true" : "false";
    out.push_back('}');
  }
  out += "],\"refusal\":";
  out += v.refusal ? "true" : "false";
  out += ",\"truncated\":";
  out += v.truncated ? "true" : "false";
  out += ",\"empty\":";
  out += v.empty ? "true" : "false";
  out += ",\"tool_calls\":" + std::to_string(v.tool_calls);
  out += ",\"tool_calls_valid\":" + std::to_string(v.tool_calls_valid);
  out.push_back('}');
  return out;
}

}  // namespace slipway::validators
