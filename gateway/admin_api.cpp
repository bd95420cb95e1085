#include "gateway/admin_api.hpp"

#include <array>
#include <cmath>
#include <exception>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gateway/http_util.hpp"

namespace slipway {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view kRealmHeader = "Bearer realm=\"slipway-admin\"";

enum class Action { none, state, rollback, resume, set_weight };

std::string_view action_name(Action a) {
  switch (a) {
    case Action::state: return "state";
    case Action::rollback: return "rollback";
    case Action::resume: return "resume";
    case Action::set_weight: return "set_weight";
    case Action::none: break;
  }
  return "none";
}

// Which endpoint a target names. `known` is false for paths the API does not have (404).
struct Route {
  bool known = false;
  bool bad_target = false;     // not a parseable origin-form target (bad percent-encoding, ...)
  Action action = Action::none;
  http::verb method = http::verb::get;  // the one method the endpoint accepts
  std::string model;           // percent-decoded
};

Route route_for(std::string_view target) {
  Route r;
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) {
    r.bad_target = true;
    return r;
  }
  std::vector<std::string> segs;
  // segments() splits on the literal '/' of the encoded path and then decodes each segment, so a model
  // name sent as "org%2Fname" stays one segment ("org/name").
  for (auto s : parsed->segments()) segs.push_back(s);
  if (segs.size() == 3 && segs[0] == "admin" && segs[1] == "v1" && segs[2] == "state") {
    r.known = true;
    r.action = Action::state;
    r.method = http::verb::get;
    return r;
  }
  if (segs.size() >= 5 && segs[0] == "admin" && segs[1] == "v1" && segs[2] == "models") {
    const std::string& last = segs.back();
    if (last == "rollback") r.action = Action::rollback, r.method = http::verb::post;
    else if (last == "resume") r.action = Action::resume, r.method = http::verb::post;
    else if (last == "weight") r.action = Action::set_weight, r.method = http::verb::put;
    else return r;
    r.known = true;
    // Everything between "models" and the action is the model; an unencoded '/' in a name is accepted too.
    for (std::size_t i = 3; i + 1 < segs.size(); ++i) {
      if (i > 3) r.model += '/';
      r.model += segs[i];
    }
  }
  return r;
}

std::size_t utf8_chars(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

bool blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The token of "Authorization: Bearer <token>" (scheme case-insensitive, RFC 7235); "" when absent or
// another scheme.
std::string_view bearer_token(const AdminRequest& req) {
  auto it = req.find(http::field::authorization);
  if (it == req.end()) return {};
  std::string_view v = trim(std::string_view(it->value().data(), it->value().size()));
  auto space = v.find(' ');
  if (space == std::string_view::npos || !iequals(v.substr(0, space), "bearer")) return {};
  return trim(v.substr(space + 1));
}

// What a mutating call carries.
struct Body {
  std::string reason;
  std::optional<double> weight_percent;
};
struct BodyError {
  std::string param;   // "" for the body as a whole
  std::string message;
  std::string code;
};

std::optional<BodyError> parse_body(std::string_view text, Action action, Body& out) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return BodyError{"", "The body is not valid JSON (" + ec.message() + "); send a JSON object such as "
                               "{\"reason\": \"...\"}.", "invalid_json"};
  if (!v.is_object()) return BodyError{"", "The body must be a JSON object.", "invalid_json"};
  const json::object& o = v.get_object();
  for (const auto& kv : o) {
    std::string_view k = kv.key();
    if (k == "reason" || (action == Action::set_weight && k == "weight_percent")) continue;
    return BodyError{std::string(k), "Unknown field \"" + std::string(k) + "\"" +
                                         (action == Action::set_weight ? "; the fields are weight_percent and reason."
                                                                       : "; the only field is reason."),
                     "unknown_field"};
  }
  const json::value* reason = o.if_contains("reason");
  if (!reason) return BodyError{"reason", "The field reason is required: say why (it is logged and shown in state).", "missing_field"};
  if (!reason->is_string()) return BodyError{"reason", "The field reason must be a string.", "invalid_type"};
  std::string_view r = reason->get_string();
  if (blank(r)) return BodyError{"reason", "The field reason must not be empty.", "invalid_value"};
  if (utf8_chars(r) > kMaxAdminReasonChars)
    return BodyError{"reason", "The field reason is longer than " + std::to_string(kMaxAdminReasonChars) + " characters.",
                     "invalid_value"};
  out.reason = std::string(r);
  if (action == Action::set_weight) {
    const json::value* w = o.if_contains("weight_percent");
    if (!w) return BodyError{"weight_percent", "The field weight_percent is required: a number in [0, 100], or null "
                                               "to clear the override.", "missing_field"};
    if (w->is_null()) {
      out.weight_percent.reset();
    } else if (w->is_number()) {
      double p = w->to_number<double>();
      if (!std::isfinite(p) || p < 0.0 || p > 100.0)
        return BodyError{"weight_percent", "The field weight_percent must be in [0, 100] (percent of traffic), or null.",
                         "invalid_value"};
      out.weight_percent = p;
    } else {
      return BodyError{"weight_percent", "The field weight_percent must be a number in [0, 100], or null.", "invalid_type"};
    }
  }
  return std::nullopt;
}

std::string_view code_for_control_status(int status) {
  switch (status) {
    case 400: return "invalid_value";
    case 404: return "model_not_found";
    case 409: return "conflict";
    default: return status >= 500 ? "internal_error" : "control_error";
  }
}

AdminResponse json_response(const AdminRequest& req, int status, std::string body) {
  AdminResponse res{static_cast<http::status>(status), req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

AdminResponse error_response(const AdminRequest& req, int status, std::string_view message, std::string_view param,
                             std::string_view code) {
  return json_response(req, status, openai_error_body(message, error_type_for_status(status), param, code));
}

}  // namespace

bool is_admin_api_path(std::string_view path) {
  return path == "/admin" || path.starts_with("/admin/");
}

bool admin_token_matches(std::string_view presented, std::string_view configured) {
  // Digests have a fixed length, so the comparison takes the same time whatever the inputs' lengths and
  // contents; hashing each input depends only on its own length.
  std::array<unsigned char, EVP_MAX_MD_SIZE> a{}, b{};
  unsigned int la = 0, lb = 0;
  if (EVP_Digest(presented.data(), presented.size(), a.data(), &la, EVP_sha256(), nullptr) != 1) return false;
  if (EVP_Digest(configured.data(), configured.size(), b.data(), &lb, EVP_sha256(), nullptr) != 1) return false;
  if (la != lb || la == 0) return false;
  return CRYPTO_memcmp(a.data(), b.data(), la) == 0;
}

AdminResponse AdminApi::answer(const AdminRequest& req, const std::optional<std::string>& token,
                               RolloutControl* control, std::string_view client) const {
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  const Route route = route_for(target);
  const bool mutating = req.method() != http::verb::get && req.method() != http::verb::head;
  Body body;

  // One audit line per mutating call, whatever its result; the token is never part of it.
  auto audit = [&](const AdminResponse& res, std::string_view message) {
    if (!mutating) return;
    const int status = res.result_int();
    json::object f{{"action", action_name(route.action)},
                   {"model", route.model},
                   {"reason", body.reason},
                   {"client", client},
                   {"method", std::string_view(req.method_string().data(), req.method_string().size())},
                   {"path", path.substr(0, 256)},
                   {"status", status},
                   {"result", status < 300 ? "accepted" : "refused"},
                   {"message", message}};
    if (route.action == Action::set_weight && status < 300)
      f["weight_percent"] = body.weight_percent ? json::value(*body.weight_percent) : json::value(nullptr);
    log_.write(status < 300 ? LogLevel::info : LogLevel::warn, "admin_action", f);
  };
  auto refuse = [&](int status, std::string_view message, std::string_view param, std::string_view code) {
    AdminResponse res = error_response(req, status, message, param, code);
    audit(res, message);
    return res;
  };

  if (!token || token->empty())
    return refuse(403, "The admin API is disabled: no admin token is configured. Set admin.token_env (an environment "
                       "variable holding the token) or admin.token_file (a file holding it) in the config, then "
                       "reload or restart; see docs/admin-api.md.", "", "admin_token_not_configured");

  const std::string_view presented = bearer_token(req);
  if (presented.empty() || !admin_token_matches(presented, *token)) {
    const bool missing = presented.empty();
    AdminResponse res = refuse(401, missing ? "Missing admin token: send \"Authorization: Bearer <token>\"."
                                            : "Invalid admin token.", "", missing ? "missing_admin_token" : "invalid_admin_token");
    res.set(http::field::www_authenticate,
            missing ? std::string(kRealmHeader) : std::string(kRealmHeader) + ", error=\"invalid_token\"");
    return res;
  }

  if (route.bad_target) return refuse(400, "The request target is not a valid path (bad percent-encoding?).", "", "invalid_path");
  if (!route.known)
    return refuse(404, "Unknown admin API path " + std::string(path.substr(0, 256)) + "; see docs/admin-api.md for "
                       "GET /admin/v1/state and /admin/v1/models/{model}/{rollback,resume,weight}.", "", "not_found");
  if (req.method() != route.method) {
    const std::string allow(http::to_string(route.method));
    AdminResponse res = refuse(405, "Use " + allow + " on " + std::string(path.substr(0, 256)) + ".", "", "method_not_allowed");
    res.set(http::field::allow, allow);
    return res;
  }
  if (!control)
    return refuse(503, "The rollout control is not running in this gateway process, so the admin API cannot act yet; "
                       "try again once it has started.", "", "rollout_control_unavailable");

  if (route.action == Action::state) {
    try {
      return json_response(req, 200, json::serialize(control->state()));
    } catch (const std::exception& e) {
      return refuse(500, std::string("Reading the rollout state failed: ") + e.what(), "", "internal_error");
    }
  }

  if (route.model.empty()) return refuse(400, "The model name in the path is empty.", "model", "invalid_value");
  if (auto err = parse_body(req.body(), route.action, body)) return refuse(400, err->message, err->param, err->code);

  ControlResult result;
  try {
    switch (route.action) {
      case Action::rollback: result = control->rollback(route.model, body.reason); break;
      case Action::resume: result = control->resume(route.model, body.reason); break;
      case Action::set_weight: result = control->set_weight(route.model, body.weight_percent, body.reason); break;
      default: break;
    }
  } catch (const std::exception& e) {
    result.status = 500;
    result.message = std::string("The rollout control failed: ") + e.what();
  }
  if (result.status < 200 || result.status >= 300) {
    const int status = result.status >= 400 && result.status <= 599 ? result.status : 500;
    return refuse(status, result.message.empty() ? "The rollout control refused the call." : result.message,
                  status == 404 ? "model" : status == 400 && route.action == Action::set_weight ? "weight_percent" : "",
                  code_for_control_status(status));
  }
  json::object ok{{"model", route.model},
                  {"action", action_name(route.action)},
                  {"message", result.message},
                  {"state", result.state}};
  AdminResponse res = json_response(req, result.status, json::serialize(ok));
  audit(res, result.message);
  return res;
}

}  // namespace slipway
