// slipway-validate: validate captured responses against what their requests asked for, offline.
//
//   slipway-validate --request REQ.json --response RESP.json   one verdict object; RESP is a chat.completion /
//                                                              text_completion body or a captured SSE stream
//   slipway-validate --jsonl FILE|-                            one {"request":..,"response":..} per line,
//                                                              one verdict per line, in order
// Exit status: 0 no failing finding, 1 a failing finding (or a bad line in --jsonl), 2 bad usage or
// unreadable input.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "validators/validator.hpp"

namespace sv = slipway::validators;
namespace bj = boost::json;

namespace {

constexpr const char* kUsage =
    "usage: slipway-validate --request REQ.json --response RESP.json [options]\n"
    "       slipway-validate --jsonl FILE|- [options]\n"
    "options:\n"
    "  --max-assembled-bytes N   cap on content+arguments kept per response (default 1048576)\n"
    "  --max-schema-bytes N      (default 65536)   --max-schema-depth N (default 32)\n"
    "  --max-subschemas N        (default 2000)    --max-regex-program-size N (default 2000)\n"
    "  --refusal-threshold X     refusal score threshold (default 1.0)\n"
    "  --refusal-phrase RE2      extra refusal phrase (repeatable)\n"
    "exit: 0 no failing finding, 1 failing finding or bad --jsonl line, 2 bad usage or unreadable input\n";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "slipway-validate: %s\n%s", msg.c_str(), kUsage);
  return 2;
}

bool read_file(const std::string& path, std::string& out, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    why = "read error";
    return false;
  }
  out = ss.str();
  return true;
}

std::string error_line(size_t line, const std::string& error, const std::string& param = {}) {
  std::string out = "{\"line\":" + std::to_string(line) + ",\"error\":";
  sv::append_json_string(out, error);
  if (!param.empty()) {
    out += ",\"param\":";
    sv::append_json_string(out, param);
  }
  out += "}";
  return out;
}

int run_jsonl(sv::Validator& v, std::istream& in) {
  std::string line;
  size_t n = 0;
  bool any_bad = false;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    bj::error_code ec;
    bj::parse_options po;
    po.max_depth = 512;
    bj::value doc = bj::parse(line, ec, {}, po);
    if (ec || !doc.is_object()) {
      std::cout << error_line(n, ec ? "line is not JSON: " + ec.message() : "line is not a JSON object") << '\n';
      any_bad = true;
      continue;
    }
    const bj::object& o = doc.get_object();
    const bj::value* req = o.if_contains("request");
    const bj::value* resp = o.if_contains("response");
    if (!req || !resp) {
      std::cout << error_line(n, "line needs \"request\" and \"response\"") << '\n';
      any_bad = true;
      continue;
    }
    auto x = v.expectations_from(*req);
    if (auto* e = std::get_if<sv::RequestError>(&x)) {
      std::cout << error_line(n, "request rejected (HTTP 400): " + e->message, e->param) << '\n';
      any_bad = true;
      continue;
    }
    sv::AssembledResponse r = resp->is_string() ? v.assemble(std::string_view(resp->get_string()))
                                                : sv::assemble_completion(bj::serialize(*resp), v.limits().max_assembled_bytes);
    sv::Verdict verdict = v.validate(std::get<sv::Expectations>(x), r);
    std::string out = sv::to_json(verdict);
    out.insert(1, "\"line\":" + std::to_string(n) + ",");
    std::cout << out << '\n';
    any_bad = any_bad || !verdict.ok();
  }
  std::cout.flush();
  return any_bad ? 1 : 0;
}

bool parse_size(const char* s, size_t& out) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (!end || *end || end == s) return false;
  out = static_cast<size_t>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string request_path, response_path, jsonl_path;
  sv::Limits limits;
  sv::RefusalConfig refusal;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)name;
      return argv[++i];
    };
    const char* val = nullptr;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--request" && (val = value("--request"))) {
      request_path = val;
    } else if (a == "--response" && (val = value("--response"))) {
      response_path = val;
    } else if (a == "--jsonl" && (val = value("--jsonl"))) {
      jsonl_path = val;
    } else if (a == "--refusal-threshold" && (val = value(a.c_str()))) {
      refusal.threshold = std::atof(val);
    } else if (a == "--refusal-phrase" && (val = value(a.c_str()))) {
      refusal.extra_phrases.push_back(val);
    } else if (a.rfind("--max-", 0) == 0 && (val = value(a.c_str()))) {
      size_t n;
      if (!parse_size(val, n)) return usage_error("bad number for " + a + ": " + val);
      if (a == "--max-assembled-bytes") limits.max_assembled_bytes = n;
      else if (a == "--max-schema-bytes") limits.max_schema_bytes = n;
      else if (a == "--max-schema-depth") limits.max_schema_depth = n;
      else if (a == "--max-subschemas") limits.max_subschemas = n;
      else if (a == "--max-regex-program-size") limits.max_regex_program_size = static_cast<int>(n);
      else return usage_error("unknown option " + a);
    } else {
      return usage_error("unknown or incomplete option " + a);
    }
  }

  std::unique_ptr<sv::Validator> v;
  try {
    v = std::make_unique<sv::Validator>(limits, refusal);
  } catch (const std::exception& e) {
    return usage_error(std::string("bad refusal configuration: ") + e.what());
  }

  if (!jsonl_path.empty()) {
    if (!request_path.empty() || !response_path.empty()) return usage_error("--jsonl excludes --request/--response");
    if (jsonl_path == "-") return run_jsonl(*v, std::cin);
    std::ifstream in(jsonl_path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "slipway-validate: %s: cannot open: %s\n", jsonl_path.c_str(), std::strerror(errno));
      return 2;
    }
    return run_jsonl(*v, in);
  }
  if (request_path.empty() || response_path.empty()) return usage_error("--request and --response are both required");

  std::string req, resp, why;
  if (!read_file(request_path, req, why)) {
    std::fprintf(stderr, "slipway-validate: %s: %s\n", request_path.c_str(), why.c_str());
    return 2;
  }
  if (!read_file(response_path, resp, why)) {
    std::fprintf(stderr, "slipway-validate: %s: %s\n", response_path.c_str(), why.c_str());
    return 2;
  }
  auto x = v->expectations(req);
  if (auto* e = std::get_if<sv::RequestError>(&x)) {
    std::fprintf(stderr, "slipway-validate: %s: request rejected (would be HTTP 400): %s%s%s\n", request_path.c_str(),
                 e->message.c_str(), e->param.empty() ? "" : " [param ", e->param.empty() ? "" : (e->param + "]").c_str());
    return 2;
  }
  sv::Verdict verdict = v->validate(std::get<sv::Expectations>(x), v->assemble(resp));
  std::cout << sv::to_json(verdict) << std::endl;
  return verdict.ok() ? 0 : 1;
}
