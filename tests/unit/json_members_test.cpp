// JsonMembers (validators/json_members.hpp) finds what simdjson's object::operator[] finds, in one pass:
// the first member of each name (duplicates included), nothing for absent names, null told apart.
#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "validators/json_members.hpp"

using slipway::validators::JsonMembers;

namespace {
std::string text_of(simdjson::dom::element e) { return simdjson::minify(e); }
}  // namespace

TEST_CASE("JsonMembers finds what a lookup by name finds, first duplicate included") {
  simdjson::dom::parser parser;
  const char* docs[] = {
      R"({"model":"m","stream":true,"model":"second","user":null,"n":2})",
      R"({})",
      R"({"a":1,"b":{"model":"nested"},"tools":[1,2],"a":3})",
      R"({"stream":false,"max_tokens":7,"max_completion_tokens":null,"messages":[{"content":"x"}]})",
  };
  static constexpr std::array<std::string_view, 7> names{"model", "stream", "user", "a", "tools", "max_tokens",
                                                         "absent"};
  for (const char* text : docs) {
    simdjson::dom::object obj;
    REQUIRE_FALSE(parser.parse(std::string_view(text)).get_object().get(obj));
    const JsonMembers<names.size()> m(obj, names);
    for (std::size_t i = 0; i < names.size(); ++i) {
      INFO(text << " / " << names[i]);
      simdjson::dom::element expected, got;
      bool present = !obj[names[i]].get(expected);
      REQUIRE(m.get(i, got) == present);
      if (present) {
        CHECK(text_of(got) == text_of(expected));
        CHECK(m.get_non_null(i, got) == !expected.is_null());
      } else {
        CHECK_FALSE(m.get_non_null(i, got));
      }
    }
  }
  simdjson::dom::object obj;
  REQUIRE_FALSE(parser.parse(std::string_view(docs[0])).get_object().get(obj));
  const JsonMembers<names.size()> m(obj, names);
  simdjson::dom::element e;
  REQUIRE(m.get(0, e));
  std::string_view model;
  REQUIRE_FALSE(e.get_string().get(model));
  CHECK(model == "m");  // the first "model", as operator[] gives it
}
