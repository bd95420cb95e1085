#include "validators/request_expectations.hpp"

#include <boost/json/parse.hpp>

#include "validators/request_members.hpp"
#include "validators/verdict.hpp"

namespace slipway::validators {

namespace bj = boost::json;

std::string_view to_string(ResponseFormatKind k) {
  switch (k) {
    case ResponseFormatKind::json_object: return "json_object";
    case ResponseFormatKind::json_schema: return "json_schema";
    default: return "text";
  }
}

std::string_view to_string(ToolChoiceKind k) {
  switch (k) {
    case ToolChoiceKind::none: return "none";
    case ToolChoiceKind::required: return "required";
    case ToolChoiceKind::named: return "named";
    default: return "auto";
  }
}

const ToolSpec* Expectations::find_tool(std::string_view name) const {
  for (const auto& t : tools)
    if (t.name == name) return &t;
  return nullptr;
}

std::string to_openai_error_json(const RequestError& e) {
  std::string out = "{\"error\":{\"message\":";
  append_json_string(out, e.message);
  out += ",\"type\":\"invalid_request_error\",\"param\":";
  if (e.param.empty()) out += "null";
  else append_json_string(out, e.param);
  out += ",\"code\":null}}";
  return out;
}

namespace {

std::variant<SchemaHandle, RequestError> compile(const bj::value& schema, SchemaCache& cache,
                                                 const Limits& limits, const std::string& param) {
  if (!schema.is_object() && !schema.is_bool())
    return RequestError{"'" + param + "' must be a JSON Schema object", param};
  auto r = cache.get(schema, limits);
  if (auto* e = std::get_if<CompileError>(&r))
    return RequestError{"invalid schema in '" + param + "' at " + e->message, param};
  return std::get<SchemaHandle>(std::move(r));
}

// vLLM accepts guided_json as an object or as a JSON string.
std::optional<bj::value> schema_value(const bj::value& v) {
  if (v.is_string()) {
    bj::error_code ec;
    bj::parse_options po;
    po.max_depth = 512;
    bj::value parsed = bj::parse(v.get_string(), ec, {}, po);
    if (ec) return std::nullopt;
    return parsed;
  }
  return v;
}

}  // namespace

bool is_per_request_member(std::string_view key) {
  return key == "stream" || key == "max_completion_tokens" || key == "max_tokens";
}

void read_per_request_members(const bj::object& o, Expectations& x) {
  x.stream = false;
  x.max_tokens.reset();
  if (auto* s = o.if_contains("stream"); s && s->is_bool()) x.stream = s->get_bool();
  for (const char* k : {"max_completion_tokens", "max_tokens"}) {
    if (auto* m = o.if_contains(k); m && m->is_int64()) x.max_tokens = m->get_int64();
    else if (m && m->is_uint64()) x.max_tokens = static_cast<int64_t>(m->get_uint64());
    if (x.max_tokens) break;
  }
}

std::variant<Expectations, RequestError> parse_expectations(const bj::value& req, SchemaCache& cache,
                                                            const Limits& limits) {
  Expectations x;
  if (!req.is_object()) return RequestError{"request body must be a JSON object", ""};
  const bj::object& o = req.get_object();
  x.is_chat = o.contains("messages") || !o.contains("prompt");
  read_per_request_members(o, x);

  // Structured output: response_format, then vLLM's guided_json and structured_outputs.json.
  if (auto* rf = o.if_contains("response_format"); rf && !rf->is_null()) {
    if (!rf->is_object()) return RequestError{"'response_format' must be an object", "response_format"};
    auto* t = rf->get_object().if_contains("type");
    if (!t || !t->is_string()) return RequestError{"'response_format.type' is required", "response_format.type"};
    std::string_view type = t->get_string();
    x.format_source = "response_format";
    if (type == "json_object") {
      x.response_format = ResponseFormatKind::json_object;
    } else if (type == "json_schema") {
      auto* js = rf->get_object().if_contains("json_schema");
      if (!js || !js->is_object())
        return RequestError{"'response_format.json_schema' must be an object", "response_format.json_schema"};
      if (auto* n = js->get_object().if_contains("name"); n && n->is_string()) x.schema_name = n->get_string();
      auto* sch = js->get_object().if_contains("schema");
      if (!sch) {
        x.response_format = ResponseFormatKind::json_object;  // no schema: any JSON value
      } else {
        auto r = compile(*sch, cache, limits, "response_format.json_schema.schema");
        if (auto* e = std::get_if<RequestError>(&r)) return *e;
        x.schema = std::get<SchemaHandle>(std::move(r));
        x.response_format = ResponseFormatKind::json_schema;
      }
    } else if (type != "text") {
      return RequestError{"unsupported 'response_format.type': '" + std::string(type) + "'",
                          "response_format.type"};
    }
  }
  if (x.response_format == ResponseFormatKind::text) {
    const bj::value* gj = o.if_contains("guided_json");
    std::string param = "guided_json";
    if (!gj || gj->is_null()) {
      if (auto* so = o.if_contains("structured_outputs"); so && so->is_object()) {
        gj = so->get_object().if_contains("json");
        param = "structured_outputs.json";
      }
    }
    if (gj && !gj->is_null()) {
      auto sv = schema_value(*gj);
      if (!sv) return RequestError{"'" + param + "' is not valid JSON", param};
      auto r = compile(*sv, cache, limits, param);
      if (auto* e = std::get_if<RequestError>(&r)) return *e;
      x.schema = std::get<SchemaHandle>(std::move(r));
      x.response_format = ResponseFormatKind::json_schema;
      x.format_source = param == "guided_json" ? "guided_json" : "structured_outputs";
    }
  }

  // Tools.
  if (auto* tools = o.if_contains("tools"); tools && !tools->is_null()) {
    if (!tools->is_array()) return RequestError{"'tools' must be an array", "tools"};
    size_t i = 0;
    for (const auto& t : tools->get_array()) {
      std::string p = "tools[" + std::to_string(i++) + "]";
      if (!t.is_object()) return RequestError{"'" + p + "' must be an object", p};
      auto* fn = t.get_object().if_contains("function");
      if (!fn || !fn->is_object()) return RequestError{"'" + p + ".function' is required", p + ".function"};
      auto* name = fn->get_object().if_contains("name");
      if (!name || !name->is_string() || name->get_string().empty())
        return RequestError{"'" + p + ".function.name' must be a non-empty string", p + ".function.name"};
      ToolSpec spec;
      spec.name = name->get_string();
      if (x.find_tool(spec.name))
        return RequestError{"duplicate tool name '" + spec.name + "'", p + ".function.name"};
      if (auto* st = fn->get_object().if_contains("strict"); st && st->is_bool()) spec.strict = st->get_bool();
      if (auto* params = fn->get_object().if_contains("parameters"); params && !params->is_null()) {
        auto r = compile(*params, cache, limits, p + ".function.parameters");
        if (auto* e = std::get_if<RequestError>(&r)) return *e;
        spec.parameters = std::get<SchemaHandle>(std::move(r));
      }
      x.tools.push_back(std::move(spec));
    }
  }
  if (auto* tc = o.if_contains("tool_choice"); tc && !tc->is_null()) {
    if (tc->is_string()) {
      std::string_view s = tc->get_string();
      if (s == "none") x.tool_choice = ToolChoiceKind::none;
      else if (s == "required") x.tool_choice = ToolChoiceKind::required;
      else if (s == "auto") x.tool_choice = ToolChoiceKind::auto_;
      else return RequestError{"unsupported 'tool_choice': '" + std::string(s) + "'", "tool_choice"};
    } else if (tc->is_object()) {
      auto* fn = tc->get_object().if_contains("function");
      const bj::value* name = fn && fn->is_object() ? fn->get_object().if_contains("name") : nullptr;
      if (!name || !name->is_string())
        return RequestError{"'tool_choice.function.name' is required", "tool_choice.function.name"};
      x.tool_choice = ToolChoiceKind::named;
      x.tool_choice_name = name->get_string();
      if (!x.find_tool(x.tool_choice_name))
        return RequestError{"'tool_choice' names function '" + x.tool_choice_name + "' which is not in 'tools'",
                            "tool_choice.function.name"};
    } else {
      return RequestError{"'tool_choice' must be a string or an object", "tool_choice"};
    }
    if (x.tool_choice != ToolChoiceKind::none && x.tool_choice != ToolChoiceKind::auto_ && x.tools.empty())
      return RequestError{"'tool_choice' requires 'tools'", "tool_choice"};
  }
  if (auto* ptc = o.if_contains("parallel_tool_calls"); ptc && ptc->is_bool())
    x.parallel_tool_calls = ptc->get_bool();
  return x;
}

std::variant<Expectations, RequestError> parse_expectations(std::string_view body, SchemaCache& cache,
                                                            const Limits& limits) {
  // Long bodies: the members read, without the conversation (request_members.hpp); the whole body when that
  // declines. Under 8 KiB a whole Boost.JSON parse costs no more than simdjson's validation plus the members.
  if (body.size() >= kMembersOnlyMinBytes)
    if (auto members = read_request_members(body)) return parse_expectations(*members, cache, limits);
  bj::error_code ec;
  bj::parse_options po;
  po.max_depth = 512;
  bj::value v = bj::parse(body, ec, {}, po);
  if (ec) return RequestError{"request body is not valid JSON: " + ec.message(), ""};
  return parse_expectations(v, cache, limits);
}

}  // namespace slipway::validators
