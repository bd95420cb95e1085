// vllm-sim: decide what a generation request answers: faults, slippage, content or tool calls,
// finish_reason, token counts and timing. Deterministic for (seed, body bytes, x-request-id).
#include "tools/vllm-sim/sim.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace sim {
namespace json = boost::json;
namespace {

constexpr std::string_view kRefusal = "I'm sorry, but I can't help with that.";

bool has_kind(const std::vector<std::string>& v, std::string_view k) {
  return std::find(v.begin(), v.end(), k) != v.end();
}

void split_list(std::string_view s, std::vector<std::string>& out) {
  while (!s.empty()) {
    auto c = s.find(',');
    auto item = s.substr(0, c);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
}

void message_text(const json::value& content, std::string& out) {
  if (content.is_string()) {
    out += content.get_string();
  } else if (content.is_array()) {
    for (auto& part : content.get_array())
      if (part.is_object())
        if (auto* t = part.get_object().if_contains("text"); t && t->is_string()) out += t->get_string();
  }
}

int64_t as_int(const json::object& o, std::string_view k, int64_t dflt) {
  auto* v = o.if_contains(k);
  if (!v) return dflt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->get_double());
  return dflt;
}

// Split text into streaming pieces of a few characters (JSON, tool arguments).
void chop(std::string_view s, Rng& rng, std::vector<std::string>& out) {
  while (!s.empty()) {
    auto n = std::min<std::size_t>(s.size(), static_cast<std::size_t>(rng.range(2, 7)));
    out.emplace_back(s.substr(0, n));
    s.remove_prefix(n);
  }
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& p : v) s += p;
  return s;
}

void prose(Rng& rng, int n, std::vector<std::string>& out) {
  bool cap = true;
  for (int i = 0; i < n; ++i) {
    std::string w(i ? " " : "");
    std::string_view word = lorem_word(rng);
    std::size_t at = w.size();
    w += word;
    if (cap) w[at] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[at])));
    cap = false;
    if (i == n - 1 || rng.chance(0.09)) w += '.', cap = true;
    out.push_back(std::move(w));
  }
}

void break_json(std::string& s) {
  if (!s.empty() && (s.back() == '}' || s.back() == ']'))
    s.pop_back();
  else
    s += '}';
}

const json::value* requested_schema(const json::object& body, bool& json_mode) {
  json_mode = false;
  if (auto* rf = body.if_contains("response_format"); rf && rf->is_object()) {
    auto& o = rf->get_object();
    auto* t = o.if_contains("type");
    if (t && t->is_string() && t->get_string() == "json_object") json_mode = true;
    if (t && t->is_string() && t->get_string() == "json_schema") {
      json_mode = true;
      if (auto* js = o.if_contains("json_schema"); js && js->is_object())
        if (auto* s = js->get_object().if_contains("schema")) return s;
    }
  }
  if (auto* g = body.if_contains("guided_json"); g && !g->is_null()) return json_mode = true, g;
  if (auto* so = body.if_contains("structured_outputs"); so && so->is_object())
    if (auto* g = so->get_object().if_contains("json"); g && !g->is_null()) return json_mode = true, g;
  return nullptr;
}

}  // namespace

Reply plan_reply(const json::object& body, bool chat, const Headers& headers, std::string_view body_bytes,
                 std::string_view request_id) {
  const Config& cfg = config();
  Rng rng(cfg.seed ^ fnv1a(body_bytes) ^ (fnv1a(request_id) * 0x9E3779B97F4A7C15ull));
  Reply r;
  r.chat = chat;
  r.id = (chat ? "chatcmpl-" : "cmpl-") + hex_id(rng, 32);
  r.created = static_cast<std::int64_t>(std::time(nullptr));
  if (auto* s = body.if_contains("stream"); s && s->is_bool()) r.stream = s->get_bool();
  if (auto* so = body.if_contains("stream_options"); so && so->is_object() && r.stream) {
    if (auto* u = so->get_object().if_contains("include_usage"); u && u->is_bool()) r.include_usage = u->get_bool();
    if (auto* u = so->get_object().if_contains("continuous_usage_stats"); u && u->is_bool())
      r.continuous_usage = u->get_bool();
  }

  // Prompt.
  std::string last_user;
  std::size_t chars = 0;
  if (chat) {
    if (auto* m = body.if_contains("messages"); m && m->is_array())
      for (auto& msg : m->get_array()) {
        if (!msg.is_object()) continue;
        std::string text;
        if (auto* c = msg.get_object().if_contains("content")) message_text(*c, text);
        chars += text.size();
        auto* role = msg.get_object().if_contains("role");
        if (role && role->is_string() && role->get_string() == "user") last_user = std::move(text);
      }
  } else if (auto* p = body.if_contains("prompt")) {
    if (p->is_string()) {
      last_user = std::string(p->get_string());
    } else if (p->is_array()) {
      for (auto& e : p->get_array())
        if (e.is_string()) last_user += e.get_string();
        else if (e.is_number()) chars += 4;  // token ids
    }
    chars += last_user.size();
  }
  r.prompt_tokens = std::max<int>(1, static_cast<int>(chars / 4));

  bool json_mode = false;
  const json::value* schema = requested_schema(body, json_mode);
  json::value parsed_schema;
  if (schema && schema->is_string()) {  // guided_json may be a string
    json::error_code ec;
    parsed_schema = json::parse(schema->get_string(), ec);
    schema = ec ? nullptr : &parsed_schema;
  }
  const json::array* tools = nullptr;
  if (auto* t = body.if_contains("tools"); chat && t && t->is_array() && !t->get_array().empty()) tools = &t->get_array();
  std::string tool_choice = "auto", named;
  if (auto* tc = body.if_contains("tool_choice")) {
    if (tc->is_string()) tool_choice = std::string(tc->get_string());
    else if (tc->is_object())
      if (auto* f = tc->get_object().if_contains("function"); f && f->is_object())
        if (auto* n = f->get_object().if_contains("name"); n && n->is_string())
          tool_choice = "named", named = std::string(n->get_string());
  }
  bool parallel = true;
  if (auto* pt = body.if_contains("parallel_tool_calls"); pt && pt->is_bool()) parallel = pt->get_bool();
  int64_t max_tokens = as_int(body, "max_completion_tokens", as_int(body, "max_tokens", -1));

  Features f;
  f.prompt_tokens = r.prompt_tokens;
  f.schema_depth = schema ? schema_depth(*schema) : 0;
  f.n_tools = tools ? static_cast<int>(tools->size()) : 0;
  f.stream = r.stream;
  f.headers = &headers;

  // Slippage: the x-sim-slip header (comma list, all applied) or the profile's first rule that fires.
  std::vector<std::string> slips;
  if (auto h = find_header(headers, "x-sim-slip"); !h.empty()) {
    split_list(h, slips);
  } else {
    for (auto& rule : cfg.profile.slippage) {
      bool fire = rng.chance(rule.p) && when_matches(rule.when, f);
      if (fire && slips.empty()) slips.push_back(rule.kind);
    }
  }
  if (auto h = find_header(headers, "x-sim-fault"); !h.empty()) {
    r.fault = std::string(h);
    r.fault_delay_ms = 2000;
  } else {
    for (auto& rule : cfg.profile.faults) {
      bool fire = rng.chance(rule.p) && when_matches(rule.when, f);
      if (fire && r.fault.empty()) r.fault = rule.kind, r.fault_delay_ms = rule.delay_ms;
    }
  }
  if (auto h = find_header(headers, "x-sim-delay-ms"); !h.empty()) r.fault_delay_ms = std::atof(std::string(h).c_str());

  // Timing.
  Timing t = cfg.profile.timing;  // per-request overrides for tests: x-sim-ttft-ms, x-sim-token-ms, x-sim-output-tokens
  auto num_header = [&](std::string_view name, double& out) {
    if (auto h = find_header(headers, name); !h.empty()) out = std::max(0.0, std::atof(std::string(h).c_str()));
  };
  num_header("x-sim-ttft-ms", t.ttft_ms);
  num_header("x-sim-token-ms", t.token_ms);
  double out_tokens = t.output_tokens;
  num_header("x-sim-output-tokens", out_tokens);
  t.output_tokens = static_cast<int>(out_tokens);
  r.ttft_ms = t.ttft_ms;
  r.token_ms = t.token_ms;
  if (rng.chance(t.tail_p)) r.ttft_ms += t.tail_extra_ms;
  double len = std::max(1.0, std::round(t.output_tokens * (0.7 + 0.6 * rng.uniform())));
  std::vector<std::string> applied;
  // want(k): the kind was asked for; mark(k): it changed the answer (listed in x-sim-slip-applied).
  auto want = [&](std::string_view k) { return has_kind(slips, k); };
  auto mark = [&](std::string_view k) { applied.emplace_back(k); };
  auto use = [&](std::string_view k) {
    if (!want(k)) return false;
    mark(k);
    return true;
  };
  if (use("slow_tail")) r.ttft_ms += t.tail_extra_ms > 0 ? t.tail_extra_ms : 600;

  bool harmful = false;
  for (auto& ph : cfg.profile.refuse_phrases)
    if (!ph.empty() && last_user.find(ph) != std::string::npos) harmful = true;
  bool refuse = harmful ? !use("missed_refusal") : use("refusal");
  if (refuse && harmful && want("refusal")) mark("refusal");
  bool tool_slip = false;
  for (auto& s : slips) tool_slip |= s.rfind("tool_", 0) == 0;

  if (refuse) {
    r.content = kRefusal;
    std::string_view rest = kRefusal;
    while (!rest.empty()) {  // word pieces
      auto sp = rest.find(' ', 1);
      r.pieces.emplace_back(rest.substr(0, sp));
      rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp);
    }
  } else if (use("empty")) {
    r.content.clear();
  } else if (tools && tool_choice != "none" &&
             (tool_choice != "auto" || tool_slip || rng.chance(0.7))) {
    // Tool calls.
    std::vector<const json::object*> fns;
    for (auto& tl : *tools)
      if (tl.is_object())
        if (auto* fn = tl.get_object().if_contains("function"); fn && fn->is_object()) {
          auto* n = fn->get_object().if_contains("name");
          if (tool_choice == "named" && !(n && n->is_string() && n->get_string() == named)) continue;
          fns.push_back(&fn->get_object());
        }
    if (fns.empty()) fns.push_back(nullptr);
    int ncalls = (parallel && tool_choice != "named" && fns.size() > 1 && rng.chance(0.25)) ? 2 : 1;
    static const json::value kAnyObject = json::object{{"type", "object"}};
    for (int i = 0; i < ncalls; ++i) {
      const json::object* fn = fns[static_cast<std::size_t>(rng.range(0, int(fns.size()) - 1))];
      ToolCallOut call;
      call.id = "chatcmpl-tool-" + hex_id(rng, 32);
      const json::value* params = &kAnyObject;
      if (fn) {
        if (auto* n = fn->if_contains("name"); n && n->is_string()) call.name = std::string(n->get_string());
        if (auto* p = fn->if_contains("parameters"); p && p->is_object()) params = p;
      }
      json::value args = make_instance(*params, rng);
      if (i == 0) {
        if (want("tool_wrong_type") && violate_schema(args, *params, rng, 1)) mark("tool_wrong_type");
        if (want("tool_missing_required") && violate_schema(args, *params, rng, 2)) mark("tool_missing_required");
      }
      call.arguments = to_json(args);
      if (i == 0) {
        if (use("tool_bad_json")) break_json(call.arguments);
        if (use("tool_empty_args")) call.arguments = rng.chance(0.5) ? "" : "{}";
        if (use("tool_unknown_function")) call.name += "_v2";
      }
      r.calls.push_back(std::move(call));
    }
    r.finish_reason = "tool_calls";
    r.content_null = true;
    if (use("tool_in_content")) {
      std::string c;
      for (auto& call : r.calls) {
        json::error_code ec;
        json::value a = json::parse(call.arguments, ec);
        if (ec) a = json::value(call.arguments);
        c += "<tool_call>\n" + to_json(json::object{{"name", call.name}, {"arguments", a}}) + "\n</tool_call>";
      }
      r.calls.clear();
      r.content_null = false;
      r.finish_reason = "stop";
      chop(c, rng, r.pieces);
    }
  } else if (auto* gc = body.if_contains("guided_choice"); gc && gc->is_array() && !gc->get_array().empty()) {
    auto& a = gc->get_array();
    auto& pick = a[static_cast<std::size_t>(rng.range(0, int(a.size()) - 1))];
    chop(pick.is_string() ? std::string_view(pick.get_string()) : std::string_view("choice"), rng, r.pieces);
  } else if (auto* gr = body.if_contains("guided_regex"); gr && gr->is_string()) {
    auto m = string_for_pattern(gr->get_string(), rng);
    chop(m ? *m : lorem_words(rng, 2), rng, r.pieces);
  } else if (json_mode) {
    json::value inst;
    if (schema) {
      inst = make_instance(*schema, rng);
      if (want("schema_violation") && violate_schema(inst, *schema, rng, 0)) mark("schema_violation");
    } else {
      inst = json::object{{"answer", lorem_words(rng, 3)},
                          {"confidence", std::round(rng.uniform() * 100) / 100},
                          {"tags", json::array{json::value(lorem_word(rng)), json::value(lorem_word(rng))}}};
    }
    std::string c = to_json(inst);
    if (use("invalid_json")) break_json(c);
    chop(c, rng, r.pieces);
  } else {
    if (use("longer_output")) len *= 2 + rng.uniform();
    prose(rng, static_cast<int>(len), r.pieces);
  }

  // Token budget, truncation.
  auto cut = [&](std::vector<std::string>& pieces, std::size_t keep) {
    if (pieces.size() > keep) pieces.resize(keep), r.finish_reason = "length";
  };
  bool truncate = want("truncation");
  if (!r.calls.empty()) {
    for (auto& call : r.calls) chop(call.arguments, rng, call.arg_pieces);
    auto& last = r.calls.back().arg_pieces;
    if (truncate && last.size() > 1) {
      cut(last, std::max<std::size_t>(1, last.size() * static_cast<std::size_t>(rng.range(3, 7)) / 10));
      mark("truncation");
    }
    std::size_t total = 0;
    for (auto& call : r.calls) {
      if (max_tokens >= 0 && total + call.arg_pieces.size() > static_cast<std::size_t>(max_tokens))
        cut(call.arg_pieces, static_cast<std::size_t>(max_tokens) - std::min<std::size_t>(total, max_tokens));
      total += call.arg_pieces.size();
      call.arguments = join(call.arg_pieces);
    }
    r.completion_tokens = static_cast<int>(total);
  } else {
    if (truncate && r.pieces.size() > 1) {
      cut(r.pieces, std::max<std::size_t>(1, r.pieces.size() * static_cast<std::size_t>(rng.range(3, 7)) / 10));
      mark("truncation");
    }
    if (max_tokens >= 0) cut(r.pieces, static_cast<std::size_t>(max_tokens));
    if (r.content.empty()) r.content = join(r.pieces);
    else if (r.finish_reason == "length") r.content = join(r.pieces);
    r.completion_tokens = static_cast<int>(r.pieces.size());
  }
  for (auto& a : applied) r.slips += (r.slips.empty() ? "" : ",") + a;
  return r;
}

}  // namespace sim
