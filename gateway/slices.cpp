#include "gateway/slices.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace slipway {

namespace {

constexpr int kMaxRefHops = 24;  // the simulator's guard

// "#/a/b%20c" -> JSON pointer "/a/b c"; nullopt for anything but a local pointer.
std::optional<std::string> local_pointer(std::string_view ref) {
  if (ref.empty() || ref[0] != '#') return std::nullopt;
  ref.remove_prefix(1);
  if (ref.empty()) return std::string();
  if (ref[0] != '/') return std::nullopt;
  std::string ptr;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    if (ref[i] == '%' && i + 2 < ref.size() && std::isxdigit(static_cast<unsigned char>(ref[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(ref[i + 2]))) {
      ptr.push_back(static_cast<char>(std::stoi(std::string(ref.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      ptr.push_back(ref[i]);
    }
  }
  return ptr;
}

int depth_impl(simdjson::dom::element root, simdjson::dom::element s, int guard) {
  simdjson::dom::object o;
  if (guard > kMaxRefHops || s.get_object().get(o)) return 0;
  int inner = 0;
  bool container = false;
  auto sub = [&](simdjson::dom::element v) { inner = std::max(inner, depth_impl(root, v, guard + 1)); };
  simdjson::dom::element v;
  simdjson::dom::object props;
  if (!o["properties"].get_object().get(props)) {
    container = true;
    for (auto kv : props) sub(kv.value);
  }
  if (!o["additionalProperties"].get(v) && v.is_object()) container = true, sub(v);
  if (!o["items"].get(v)) {
    container = true;
    simdjson::dom::array a;
    if (!v.get_array().get(a))
      for (auto e : a) sub(e);
    else
      sub(v);
  }
  simdjson::dom::array prefix;
  if (!o["prefixItems"].get_array().get(prefix)) {
    container = true;
    for (auto e : prefix) sub(e);
  }
  std::string_view type;
  if (!o["type"].get_string().get(type) && (type == "object" || type == "array")) container = true;
  int same = 0;  // combinators and refs do not add a level
  for (const char* k : {"anyOf", "oneOf", "allOf"}) {
    simdjson::dom::array a;
    if (!o[k].get_array().get(a))
      for (auto e : a) same = std::max(same, depth_impl(root, e, guard + 1));
  }
  std::string_view ref;
  if (!o["$ref"].get_string().get(ref)) {
    if (auto ptr = local_pointer(ref)) {
      simdjson::dom::element target;
      if (ptr->empty()) same = std::max(same, depth_impl(root, root, guard + 1));
      else if (!root.at_pointer(*ptr).get(target)) same = std::max(same, depth_impl(root, target, guard + 1));
    }
  }
  return std::max(same, container ? 1 + inner : inner);
}

}  // namespace

int schema_depth(simdjson::dom::element schema) { return depth_impl(schema, schema, 0); }

bool slices_need_schema_depth(const config::Config& cfg) {
  return std::any_of(cfg.slices.begin(), cfg.slices.end(), [](const auto& s) { return s.schema_depth_at_least.has_value(); });
}

int request_schema_depth(simdjson::dom::parser& parser, std::string_view body) {
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root)) return 0;
  simdjson::dom::element schema;
  bool found = false;
  simdjson::dom::object rf;
  std::string_view type;
  if (!root["response_format"].get_object().get(rf) && !rf["type"].get_string().get(type) && type == "json_schema") {
    simdjson::dom::object js;
    if (!rf["json_schema"].get_object().get(js) && !js["schema"].get(schema)) found = true;
  }
  if (!found && !root["guided_json"].get(schema) && !schema.is_null()) found = true;
  if (!found) {
    simdjson::dom::object so;
    if (!root["structured_outputs"].get_object().get(so) && !so["json"].get(schema) && !schema.is_null()) found = true;
  }
  if (!found) return 0;
  std::string_view text;
  if (!schema.get_string().get(text)) {  // guided_json may be a JSON string holding the schema
    std::string copy(text);
    if (parser.parse(copy).get(schema)) return 0;
    return schema_depth(schema);
  }
  return schema_depth(schema);
}

bool slice_matches(const config::SliceRule& rule, const config::Config& cfg, const SliceInput& in) {
  const RequestFacts& f = in.facts;
  if (rule.prompt_tokens_over && !(estimated_prompt_tokens(f) > *rule.prompt_tokens_over)) return false;
  if (rule.tools_at_least && static_cast<int64_t>(f.tools) < *rule.tools_at_least) return false;
  if (rule.response_format) {
    std::string_view rf = f.response_format;
    if (f.guided_json) rf = "json_schema";
    if (rf.empty()) rf = "text";
    if (rf != *rule.response_format) return false;
  }
  if (rule.schema_depth_at_least && in.schema_depth < *rule.schema_depth_at_least) return false;
  if (rule.stream && *rule.stream != f.stream) return false;
  if (rule.model && *rule.model != in.request.model) return false;
  if (rule.path_prefix && !in.request.path.starts_with(*rule.path_prefix)) return false;
  if (rule.header) {
    bool present = false;
    std::string_view value = in.request.header(rule.header->name, present);
    if (!present) return false;
    const auto& allowed = rule.header->values;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), value) == allowed.end()) return false;
  }
  if (rule.route) {
    auto it = std::find_if(cfg.routes.begin(), cfg.routes.end(), [&](const auto& r) { return r.name == *rule.route; });
    if (it == cfg.routes.end() || !route_matches(*it, in.request)) return false;
  }
  return true;
}

SliceMask match_slices(const config::Config& cfg, const SliceInput& in) {
  SliceMask mask = 0;
  const std::size_t n = std::min(cfg.slices.size(), config::kMaxSlices);
  for (std::size_t i = 0; i < n; ++i)
    if (slice_matches(cfg.slices[i], cfg, in)) mask |= SliceMask{1} << i;
  return mask;
}

}  // namespace slipway
