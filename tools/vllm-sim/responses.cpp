// vllm-sim: response bodies in vLLM's shapes (chat/completions, SSE chunks, errors, models, embeddings,
// tokenize). Built by appending to one string: the hot path of the benchmarks.
#include "tools/vllm-sim/sim.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace sim {
namespace json = boost::json;
namespace {

constexpr std::string_view kWords[] = {
    "the",     "model",  "answer",   "system",  "request", "value",   "service", "data",     "token",
    "a",       "of",     "and",      "to",      "in",      "is",      "that",    "for",      "with",
    "quality", "time",   "result",   "simple",  "clear",   "small",   "large",   "network",  "server",
    "user",    "report", "will",     "can",     "should",  "process", "output",  "input",    "canary",
    "stable",  "update", "response", "latency", "memory",  "cache",   "metric",  "window",   "signal",
    "river",   "stone",  "garden",   "morning", "light",   "travel",  "number",  "question", "example",
    "between", "before", "after",    "across",  "under",   "over",    "often",   "usually",  "quickly",
    "careful"};

void esc(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

void head(std::string& o, const Reply& r, std::string_view object) {
  o += "{\"id\":";
  esc(o, r.id);
  o += ",\"object\":\"";
  o += object;
  o += "\",\"created\":";
  o += std::to_string(r.created);
  o += ",\"model\":";
  esc(o, config().model);
}

void usage(std::string& o, int prompt, int completion) {
  o += "{\"prompt_tokens\":" + std::to_string(prompt) + ",\"total_tokens\":" + std::to_string(prompt + completion) +
       ",\"completion_tokens\":" + std::to_string(completion) + ",\"prompt_tokens_details\":null}";
}

void tool_call(std::string& o, const ToolCallOut& c, std::string_view args, int index, bool with_index) {
  o += "{";
  if (with_index) o += "\"index\":" + std::to_string(index) + ",";
  o += "\"id\":";
  esc(o, c.id);
  o += ",\"type\":\"function\",\"function\":{\"name\":";
  esc(o, c.name);
  o += ",\"arguments\":";
  esc(o, args);
  o += "}}";
}

void write_json(std::string& o, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: o += "null"; break;
    case json::kind::bool_: o += v.get_bool() ? "true" : "false"; break;
    case json::kind::int64: o += std::to_string(v.get_int64()); break;
    case json::kind::uint64: o += std::to_string(v.get_uint64()); break;
    case json::kind::double_: {
      char buf[64];
      double d = v.get_double();
      if (!std::isfinite(d)) d = 0;
      auto res = std::to_chars(buf, buf + sizeof buf, d);  // shortest round-trip: 0.15, not 1.5E-1
      std::string_view sv(buf, static_cast<std::size_t>(res.ptr - buf));
      o += sv;
      if (sv.find_first_of(".e") == std::string_view::npos) o += ".0";
      break;
    }
    case json::kind::string: esc(o, v.get_string()); break;
    case json::kind::array: {
      o.push_back('[');
      bool first = true;
      for (auto& e : v.get_array()) {
        if (!first) o.push_back(',');
        first = false;
        write_json(o, e);
      }
      o.push_back(']');
      break;
    }
    case json::kind::object: {
      o.push_back('{');
      bool first = true;
      for (auto& kv : v.get_object()) {
        if (!first) o.push_back(',');
        first = false;
        esc(o, kv.key());
        o.push_back(':');
        write_json(o, kv.value());
      }
      o.push_back('}');
      break;
    }
  }
}

}  // namespace

std::string to_json(const json::value& v) {
  std::string o;
  write_json(o, v);
  return o;
}

std::string_view lorem_word(Rng& rng) {
  return kWords[rng.range(0, static_cast<int>(std::size(kWords)) - 1)];
}

std::string lorem_words(Rng& rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i) s.push_back(' ');
    s += lorem_word(rng);
  }
  return s;
}

std::string hex_id(Rng& rng, int nhex) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(static_cast<std::size_t>(nhex), '0');
  std::uint64_t bits = 0;
  for (int i = 0; i < nhex; ++i) {
    if (i % 16 == 0) bits = rng.next();
    s[static_cast<std::size_t>(i)] = kHex[bits & 15];
    bits >>= 4;
  }
  return s;
}

std::string error_body(std::string_view message, std::string_view type, int code) {
  std::string o = "{\"object\":\"error\",\"message\":";
  esc(o, message);
  o += ",\"type\":";
  esc(o, type);
  o += ",\"param\":null,\"code\":" + std::to_string(code) + "}";
  return o;
}

std::string full_body(const Reply& r) {
  std::string o;
  o.reserve(256 + r.content.size() + (r.calls.empty() ? 0 : 256 * r.calls.size()));
  if (r.chat) {
    head(o, r, "chat.completion");
    o += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"reasoning_content\":null,\"content\":";
    if (r.content_null)
      o += "null";
    else
      esc(o, r.content);
    o += ",\"tool_calls\":[";
    for (std::size_t i = 0; i < r.calls.size(); ++i) {
      if (i) o += ",";
      tool_call(o, r.calls[i], r.calls[i].arguments, 0, false);
    }
    o += "]},\"logprobs\":null,\"finish_reason\":";
    esc(o, r.finish_reason);
    o += ",\"stop_reason\":null}],\"usage\":";
  } else {
    head(o, r, "text_completion");
    o += ",\"choices\":[{\"index\":0,\"text\":";
    esc(o, r.content);
    o += ",\"logprobs\":null,\"finish_reason\":";
    esc(o, r.finish_reason);
    o += ",\"stop_reason\":null,\"prompt_logprobs\":null}],\"usage\":";
  }
  usage(o, r.prompt_tokens, r.completion_tokens);
  if (r.chat) o += ",\"prompt_logprobs\":null";
  o += "}";
  return o;
}

StreamEvents::StreamEvents(const Reply& r) : r_(r) {
  // The deltas are small (a token each); the events around them are built one at a time, when sent.
  if (r.chat && !r.calls.empty()) {
    for (std::size_t i = 0; i < r.calls.size(); ++i) {
      std::string d = "\"delta\":{\"tool_calls\":[";
      tool_call(d, r.calls[i], "", static_cast<int>(i), true);
      d += "]}";
      deltas_.push_back(std::move(d));
      for (auto& piece : r.calls[i].arg_pieces) {
        std::string a = "\"delta\":{\"tool_calls\":[{\"index\":" + std::to_string(i) + ",\"function\":{\"arguments\":";
        esc(a, piece);
        a += "}}]}";
        deltas_.push_back(std::move(a));
      }
    }
  } else {
    for (auto& piece : r.pieces) {
      std::string d = r.chat ? "\"delta\":{\"content\":" : "\"text\":";
      esc(d, piece);
      if (r.chat) d += "}";
      deltas_.push_back(std::move(d));
    }
  }
  if (deltas_.empty()) deltas_.push_back(r.chat ? "\"delta\":{\"content\":\"\"}" : "\"text\":\"\"");
}

std::size_t StreamEvents::size() const { return (r_.chat ? 1 : 0) + deltas_.size() + (r_.include_usage ? 1 : 0); }

void StreamEvents::chunk(std::string& o, std::string_view delta_or_text, const char* finish) const {
  o = "data: ";
  o.reserve(200 + delta_or_text.size());
  head(o, r_, r_.chat ? "chat.completion.chunk" : "text_completion");
  o += ",\"choices\":[{\"index\":0,";
  o += delta_or_text;
  o += ",\"logprobs\":null,\"finish_reason\":";
  if (finish) esc(o, finish); else o += "null";
  if (!r_.chat) o += ",\"stop_reason\":null";
  o += "}]";
  if (r_.continuous_usage) {
    o += ",\"usage\":";
    usage(o, r_.prompt_tokens, emitted_);
  } else if (r_.include_usage) {
    o += ",\"usage\":null";
  }
  o += "}\n\n";
}

bool StreamEvents::next(std::string& event, bool& paced) {
  std::size_t i = next_++;
  if (r_.chat) {
    if (i == 0) {
      paced = false;
      chunk(event, "\"delta\":{\"role\":\"assistant\",\"content\":\"\"}", nullptr);
      return true;
    }
    --i;
  }
  if (i < deltas_.size()) {
    ++emitted_;
    paced = i > 0;
    chunk(event, deltas_[i], i + 1 == deltas_.size() ? r_.finish_reason.c_str() : nullptr);
    return true;
  }
  if (i == deltas_.size() && r_.include_usage) {
    paced = false;
    event = "data: ";
    head(event, r_, r_.chat ? "chat.completion.chunk" : "text_completion");
    event += ",\"choices\":[],\"usage\":";
    usage(event, r_.prompt_tokens, r_.completion_tokens);
    event += "}\n\n";
    return true;
  }
  return false;
}

std::string endless_event(const Reply& r, Rng& rng) {
  std::string o = "data: ";
  head(o, r, r.chat ? "chat.completion.chunk" : "text_completion");
  o += r.chat ? ",\"choices\":[{\"index\":0,\"delta\":{\"content\":" : ",\"choices\":[{\"index\":0,\"text\":";
  esc(o, " " + std::string(lorem_word(rng)));
  o += r.chat ? "},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
              : ",\"logprobs\":null,\"finish_reason\":null,\"stop_reason\":null}]}\n\n";
  return o;
}

std::string models_body() {
  const auto& m = config().model;
  std::string o = "{\"object\":\"list\",\"data\":[{\"id\":";
  esc(o, m);
  o += ",\"object\":\"model\",\"created\":" + std::to_string(std::time(nullptr)) + ",\"owned_by\":\"vllm\",\"root\":";
  esc(o, m);
  o += ",\"parent\":null,\"max_model_len\":32768,\"permission\":[{\"id\":\"modelperm-0123456789abcdef\","
       "\"object\":\"model_permission\",\"created\":" + std::to_string(std::time(nullptr)) +
       ",\"allow_create_engine\":false,\"allow_sampling\":true,\"allow_logprobs\":true,"
       "\"allow_search_indices\":false,\"allow_view\":true,\"allow_fine_tuning\":false,\"organization\":\"*\","
       "\"group\":null,\"is_blocking\":false}]}]}";
  return o;
}

std::string embeddings_body(const json::object& body, std::string& err, int& status) {
  std::vector<std::string> inputs;
  const json::value* in = body.if_contains("input");
  if (in && in->is_string()) {
    inputs.emplace_back(in->get_string());
  } else if (in && in->is_array()) {
    auto& a = in->get_array();
    bool token_ids = !a.empty() && a[0].is_number();
    if (token_ids) inputs.push_back(json::serialize(a));
    else
      for (auto& e : a) inputs.push_back(e.is_string() ? std::string(e.get_string()) : json::serialize(e));
  }
  if (inputs.empty()) {
    status = 400;
    err = error_body("input is required and must be a string or an array", "BadRequestError", 400);
    return {};
  }
  std::string o = "{\"id\":\"embd-";
  Rng idr(fnv1a(json::serialize(body)));
  o += hex_id(idr, 32) + "\",\"object\":\"list\",\"created\":" + std::to_string(std::time(nullptr)) + ",\"model\":";
  esc(o, config().model);
  o += ",\"data\":[";
  int tokens = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Rng rng(config().seed ^ fnv1a(inputs[i]));
    double v[16], norm = 0;
    for (double& x : v) x = rng.uniform() * 2 - 1, norm += x * x;
    norm = std::sqrt(norm);
    if (i) o += ",";
    o += "{\"index\":" + std::to_string(i) + ",\"object\":\"embedding\",\"embedding\":[";
    for (int k = 0; k < 16; ++k) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.6f", k ? "," : "", v[k] / norm);
      o += buf;
    }
    o += "]}";
    tokens += std::max<int>(1, static_cast<int>(inputs[i].size() / 4));
  }
  o += "],\"usage\":{\"prompt_tokens\":" + std::to_string(tokens) + ",\"total_tokens\":" + std::to_string(tokens) +
       ",\"completion_tokens\":0,\"prompt_tokens_details\":null}}";
  return o;
}

std::string tokenize_body(const json::object& body) {
  std::string text;
  if (auto* p = body.if_contains("prompt"); p && p->is_string()) text = std::string(p->get_string());
  if (auto* m = body.if_contains("messages"); m && m->is_array())
    for (auto& msg : m->get_array())
      if (msg.is_object())
        if (auto* c = msg.get_object().if_contains("content"); c && c->is_string()) text += std::string(c->get_string()) + " ";
  std::string toks;
  int count = 0;
  std::string_view s = text;
  while (!s.empty()) {  // one token per 4 characters (the same estimate as usage.prompt_tokens)
    auto piece = s.substr(0, 4);
    s.remove_prefix(piece.size());
    if (count++) toks += ",";
    toks += std::to_string(100 + fnv1a(piece) % 32000);
  }
  return "{\"count\":" + std::to_string(count) + ",\"max_model_len\":32768,\"tokens\":[" + toks +
         "],\"token_strs\":null}";
}

}  // namespace sim
