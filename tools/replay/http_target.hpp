// A target of the replay (baseline or candidate): its URL, split for cpp-httplib, and one keep-alive client
// per worker thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace httplib {
class Client;
}

namespace slipway::replay {

struct Target {
  std::string label;        // "baseline" / "candidate"
  std::string url;          // as given
  std::string origin;       // scheme://host:port for httplib
  std::string chat_path;    // path of chat completions: <prefix>/v1/chat/completions
  std::string model;        // replaces the request's "model" when not empty
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every request
};

// Reads http(s)://host[:port][/prefix]; a prefix ending in /v1 is used as is, otherwise /v1 is appended.
// Returns false with `error` on anything else.
bool parse_target_url(const std::string& url, Target& out, std::string& error);

struct HttpReply {
  bool responded = false;      // got an HTTP response
  bool connect_failed = false; // could not connect (refused, unreachable, connect timeout, TLS handshake)
  int status = 0;
  std::string body;
  std::string error;           // transport error name when !responded
};

class TargetClient {
 public:
  TargetClient(const Target& target, int timeout_seconds);
  ~TargetClient();
  TargetClient(const TargetClient&) = delete;
  TargetClient& operator=(const TargetClient&) = delete;

  HttpReply post_chat(const std::string& body, const std::vector<std::pair<std::string, std::string>>& extra_headers);

 private:
  const Target& target_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace slipway::replay
