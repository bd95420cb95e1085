#include "tools/replay/http_target.hpp"

#include <httplib.h>

namespace slipway::replay {

bool parse_target_url(const std::string& url, Target& out, std::string& error) {
  std::string rest;
  std::string scheme;
  if (url.rfind("http://", 0) == 0) scheme = "http", rest = url.substr(7);
  else if (url.rfind("https://", 0) == 0) scheme = "https", rest = url.substr(8);
  else {
    error = "\"" + url + "\": not an http:// or https:// URL";
    return false;
  }
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? std::string() : rest.substr(slash);
  if (authority.empty() || authority.find_first_of("?#@ ") != std::string::npos ||
      prefix.find_first_of("?# ") != std::string::npos) {
    error = "\"" + url + "\": expected http(s)://host[:port][/path]";
    return false;
  }
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (prefix.size() < 3 || prefix.compare(prefix.size() - 3, 3, "/v1") != 0) prefix += "/v1";
  out.url = url;
  out.origin = scheme + "://" + authority;
  out.chat_path = prefix + "/chat/completions";
  return true;
}

TargetClient::TargetClient(const Target& target, int timeout_seconds)
    : target_(target), client_(std::make_unique<httplib::Client>(target.origin)) {
  client_->set_keep_alive(true);
  client_->set_connection_timeout(5, 0);
  client_->set_read_timeout(timeout_seconds, 0);
  client_->set_write_timeout(timeout_seconds, 0);
}

TargetClient::~TargetClient() = default;

HttpReply TargetClient::post_chat(const std::string& body,
                                  const std::vector<std::pair<std::string, std::string>>& extra_headers) {
  httplib::Headers headers;
  for (const auto& [k, v] : target_.headers) headers.emplace(k, v);
  for (const auto& [k, v] : extra_headers) headers.emplace(k, v);
  HttpReply out;
  auto res = client_->Post(target_.chat_path, headers, body, "application/json");
  if (!res) {
    const httplib::Error e = res.error();
    out.error = httplib::to_string(e);
    out.connect_failed = e == httplib::Error::Connection || e == httplib::Error::ConnectionTimeout ||
                         e == httplib::Error::BindIPAddress || e == httplib::Error::SSLConnection ||
                         e == httplib::Error::SSLServerVerification;
    return out;
  }
  out.responded = true;
  out.status = res->status;
  out.body = std::move(res->body);
  return out;
}

}  // namespace slipway::replay
