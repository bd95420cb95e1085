// Streams give the same verdict as whole bodies: tool-call argument fragments split at every boundary, raw SSE
// bytes split at every byte, repeated ids, refusal and content deltas, the usage chunk, the byte cap.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "validators/validator.hpp"

using namespace slipway::validators;

namespace {

std::string q(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

const char* kReq = R"({"model":"m","messages":[{"role":"user","content":"weather?"}],"stream":true,
 "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",
   "properties":{"city":{"type":"string","minLength":2},"unit":{"enum":["c","f"]},"days":{"type":"integer","maximum":7}},
   "required":["city"],"additionalProperties":false}}},
  {"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"tz":{"type":"string"}}}}}]})";

struct Call {
  std::string name, args;
};

std::string whole_body(const std::vector<Call>& calls, const std::string& content = "") {
  std::string s = R"({"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":)";
  s += content.empty() ? "null" : q(content);
  if (!calls.empty()) {
    s += R"(,"tool_calls":[)";
    for (size_t i = 0; i < calls.size(); ++i) {
      if (i) s += ",";
      s += R"({"id":"call_)" + std::to_string(i) + R"(","type":"function","function":{"name":)" + q(calls[i].name) +
           R"(,"arguments":)" + q(calls[i].args) + "}}";
    }
    s += "]";
  }
  s += R"(},"finish_reason":")" + std::string(calls.empty() ? "stop" : "tool_calls") + R"("}]})";
  return s;
}

std::string chunk(const std::string& delta, const std::string& finish = "null") {
  return R"({"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":)" + delta +
         R"(,"finish_reason":)" + finish + "}]}";
}

// Events of a stream where call i's arguments are cut at the given offsets (sorted, within the text).
std::vector<std::string> stream_events(const std::vector<Call>& calls, const std::vector<std::vector<size_t>>& cuts,
                                       bool repeat_id = false) {
  std::vector<std::string> ev;
  ev.push_back(chunk(R"({"role":"assistant","content":""})"));
  for (size_t i = 0; i < calls.size(); ++i) {
    std::string idx = std::to_string(i);
    std::string id = R"("id":"call_)" + idx + R"(","type":"function",)";
    ev.push_back(chunk(R"({"tool_calls":[{"index":)" + idx + "," + id + R"("function":{"name":)" + q(calls[i].name) +
                       R"(,"arguments":""}}]})"));
    size_t prev = 0;
    std::vector<size_t> points = i < cuts.size() ? cuts[i] : std::vector<size_t>{};
    points.push_back(calls[i].args.size());
    for (size_t p : points) {
      std::string piece = calls[i].args.substr(prev, p - prev);
      prev = p;
      ev.push_back(chunk(R"({"tool_calls":[{"index":)" + idx + "," + (repeat_id ? id : std::string()) +
                         R"("function":{"arguments":)" + q(piece) + "}}]}"));
    }
  }
  ev.push_back(chunk("{}", R"("tool_calls")"));
  ev.push_back(R"({"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":9,"total_tokens":12}})");
  ev.push_back("[DONE]");
  return ev;
}

std::string sse(const std::vector<std::string>& events) {
  std::string s;
  for (const auto& e : events) s += "data: " + e + "\n\n";
  return s;
}

std::string verdict_of(Validator& v, const Expectations& x, const AssembledResponse& r) { return to_json(v.validate(x, r)); }

AssembledResponse feed(const std::vector<std::string>& events, size_t cap = 1 << 20) {
  StreamAssembler a(cap);
  for (const auto& e : events) a.on_event_data(e);
  return a.finish();
}

}  // namespace

TEST_CASE("streamed tool calls split at every boundary give the whole body's verdict", "[validators][stream]") {
  Validator v;
  auto x = std::get<Expectations>(v.expectations(kReq));
  std::vector<std::vector<Call>> cases = {
      {{"get_weather", R"({"city": "Paris", "unit": "c"})"}},        // valid
      {{"get_weather", R"({"city": "P", "days": 12})"}},             // schema violations
      {{"get_weather", R"({"city": "Paris", "unit": )"}},            // invalid JSON
      {{"get_weather", ""}},                                          // empty vs required
      {{"get_wether", R"({"city":"Rome"})"}},                        // unknown function
      {{"get_weather", R"({"city":"Zürich"})"}, {"get_time", "{}"}},  // two calls, non-ASCII
  };
  for (const auto& calls : cases) {
    const std::string expected = verdict_of(v, x, assemble_completion(whole_body(calls)));
    INFO("case " << calls[0].name << " " << calls[0].args << " expected " << expected);
    // One fragment per call, and every single cut point of the first call's arguments.
    CHECK(verdict_of(v, x, feed(stream_events(calls, {}))) == expected);
    const std::string& args = calls[0].args;
    for (size_t cut = 0; cut <= args.size(); ++cut) {
      if (cut < args.size() && (static_cast<unsigned char>(args[cut]) & 0xC0) == 0x80) continue;  // mid-character
      REQUIRE(verdict_of(v, x, feed(stream_events(calls, {{cut}}))) == expected);
      REQUIRE(verdict_of(v, x, feed(stream_events(calls, {{cut}}, true))) == expected);  // repeated id/type
    }
    // Byte by byte (ASCII cases).
    std::vector<size_t> all;
    bool ascii = true;
    for (size_t i = 1; i < args.size(); ++i) all.push_back(i);
    for (unsigned char c : args) ascii = ascii && c < 0x80;
    if (ascii) CHECK(verdict_of(v, x, feed(stream_events(calls, {all}))) == expected);
    // Raw SSE bytes cut in two at every byte.
    const std::string raw = sse(stream_events(calls, {}));
    for (size_t cut = 0; cut <= raw.size(); ++cut) {
      StreamAssembler a;
      a.on_bytes(std::string_view(raw).substr(0, cut));
      a.on_bytes(std::string_view(raw).substr(cut));
      REQUIRE(verdict_of(v, x, a.finish()) == expected);
    }
    CHECK(verdict_of(v, x, v.assemble(raw)) == expected);
  }
}

TEST_CASE("stream assembly: content, refusal, usage, finish_reason", "[validators][stream]") {
  std::vector<std::string> ev = {
      chunk(R"({"role":"assistant","content":""})"),
      chunk(R"({"content":"{\"a\":"})"),
      chunk(R"({"content":" 1}"})"),
      chunk(R"({})", R"("stop")"),
      R"({"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}})",
      "[DONE]",
  };
  auto r = feed(ev);
  REQUIRE(r.choices.size() == 1);
  CHECK(r.choices[0].content == "{\"a\": 1}");
  CHECK(r.choices[0].finish_reason == "stop");
  CHECK(r.usage.present);
  CHECK(r.usage.completion_tokens == 2);
  CHECK(r.is_chat);

  auto refusal = feed({chunk(R"({"role":"assistant","refusal":"I can't"})"), chunk(R"({"refusal":" help with that."})", R"("stop")")});
  CHECK(refusal.choices[0].refusal == "I can't help with that.");
  Validator v;
  auto x = std::get<Expectations>(v.expectations(R"({"messages":[],"response_format":{"type":"json_object"}})"));
  auto verdict = v.validate(x, refusal);
  CHECK(verdict.refusal);
  CHECK(verdict.ok());

  // Text completions stream "text"; a mid-stream error event is reported.
  auto text = feed({R"({"object":"text_completion","choices":[{"index":0,"text":"Hel","finish_reason":null}]})",
                    R"({"object":"text_completion","choices":[{"index":0,"text":"lo","finish_reason":"length"}]})"});
  CHECK_FALSE(text.is_chat);
  CHECK(text.choices[0].content == "Hello");
  auto err = feed({chunk(R"({"content":"x"})"), R"({"error":{"message":"overloaded","type":"server_error"}})"});
  CHECK(err.upstream_error);
  CHECK(v.validate(x, err).has(FindingKind::empty));

  StreamAssembler bad;
  bad.on_event_data("{not json");
  bad.on_event_data(chunk(R"({"content":"{}"})", R"("stop")"));
  CHECK(bad.bad_events() == 1);
  CHECK(bad.finish().choices[0].content == "{}");
}

TEST_CASE("stream assembly is bounded", "[validators][stream][limits]") {
  std::vector<std::string> ev;
  for (int i = 0; i < 100; ++i) ev.push_back(chunk(R"({"content":")" + std::string(100, 'x') + "\"}"));
  ev.push_back(chunk(R"({"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]})"));
  auto r = feed(ev, 1000);
  CHECK(r.too_large);
  CHECK(r.assembled_bytes == 1000);
  CHECK(r.choices[0].content.size() == 1000);
  Limits lim;
  lim.max_assembled_bytes = 1000;
  Validator v(lim);
  auto x = std::get<Expectations>(v.expectations(R"({"messages":[]})"));
  auto verdict = v.validate(x, r);
  CHECK(verdict.has(FindingKind::assembled_too_large));
  CHECK_FALSE(verdict.ok());
}
