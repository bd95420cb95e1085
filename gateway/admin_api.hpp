// The token-protected admin API under /admin/ on the admin listener (docs/admin-api.md):
//   GET  /admin/v1/state                      the rollout state (RolloutControl::state())
//   POST /admin/v1/models/{model}/rollback    {"reason": "..."}
//   POST /admin/v1/models/{model}/resume      {"reason": "..."}
//   PUT  /admin/v1/models/{model}/weight      {"weight_percent": 5.0 | null, "reason": "..."}
// Checks, in this order: a token is configured (else 403), the bearer token matches (else 401), the path and
// method exist (404, 405), a rollout control is attached (503), the body is valid (400); then the control
// answers and its status is relayed. Every mutating call, accepted or refused, writes one `admin_action`
// log line (never the token). Runs on the control thread, like every RolloutControl call.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "gateway/log.hpp"
#include "gateway/rollout_control.hpp"

namespace slipway {

using AdminRequest = boost::beast::http::request<boost::beast::http::string_body>;
using AdminResponse = boost::beast::http::response<boost::beast::http::string_body>;

// The longest operator reason accepted, in characters (UTF-8 code points).
inline constexpr std::size_t kMaxAdminReasonChars = 500;

// True for "/admin" and every path under "/admin/": the paths AdminApi answers.
bool is_admin_api_path(std::string_view path);

// Compares a presented bearer token with the configured one without leaking, through timing, where they
// differ or how long the configured one is: both are hashed (SHA-256) and the digests compared with
// CRYPTO_memcmp.
bool admin_token_matches(std::string_view presented, std::string_view configured);

class AdminApi {
 public:
  explicit AdminApi(const Log& log) : log_(log) {}

  // Answers one request whose path is_admin_api_path(). `token`: the current config's admin.token (nullopt or
  // empty: none configured, every call refused). `control`: null until the rollout service is attached.
  // `client`: the peer address for the audit log line.
  AdminResponse answer(const AdminRequest& req, const std::optional<std::string>& token, RolloutControl* control,
                       std::string_view client) const;

 private:
  const Log& log_;
};

}  // namespace slipway
