// labels: unit
// The executable's one JSON writer (libextract/json): escaping, numbers that round-trip,
// and the document structure. Parsing by a real JSON parser is in test_cli_extract.cpp
// (TimingJsonParsesWithOddFileNames).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>

#include "json_writer.hpp"

namespace json = libextract::json;

TEST(JsonWriter, QuoteEscapesEverythingJsonRequires) {
  EXPECT_EQ(json::quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json::quote("tab\there\nnew\rret\bb\ff"), "\"tab\\there\\nnew\\rret\\bb\\ff\"");
  EXPECT_EQ(json::quote(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(json::quote(std::string("nul\0x", 5)), "\"nul\\u0000x\"");
  // Valid UTF-8 passes through; invalid bytes become Python's surrogateescape.
  EXPECT_EQ(json::quote("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xad"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xad\"");
  EXPECT_EQ(json::quote("latin1 \xe9!"), "\"latin1 \\udce9!\"");
  EXPECT_EQ(json::quote("\xc0\xaf"), "\"\\udcc0\\udcaf\"");             // overlong '/'
  EXPECT_EQ(json::quote("\xed\xa0\x80"), "\"\\udced\\udca0\\udc80\"");  // a UTF-16 surrogate
  EXPECT_EQ(json::quote("\xe2\x82"), "\"\\udce2\\udc82\"");             // truncated sequence
}

TEST(JsonWriter, NumbersRoundTrip) {
  EXPECT_EQ(json::number(0.1), "0.10000000000000001");
  EXPECT_EQ(json::number(12345678LL), "12345678");
  EXPECT_EQ(json::number(-9007199254740993LL), "-9007199254740993");
  EXPECT_EQ(json::number(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(json::number(-std::numeric_limits<double>::infinity()), "null");
  for (double v : {1.0 / 3.0, 6.02214076e23, 4.9e-324, 1234.5678901234567, -0.0}) {
    const std::string text = json::number(v);
    const double back = std::strtod(text.c_str(), nullptr);
    EXPECT_EQ(std::signbit(back), std::signbit(v)) << text;
    EXPECT_EQ(back, v) << text;
  }
}

TEST(JsonWriter, BuildsNestedDocuments) {
  json::Writer j;
  j.begin_object().member("name", "x\ty").member("n", 3).member("ok", true);
  j.key("list").begin_array().value(1.5).begin_object().member("k", 2LL).end_object().end_array();
  j.key("empty").begin_array().end_array();
  j.key("inner").raw("{\"a\": 1}\n");
  j.key("row")
      .begin_object(true)
      .member("a", 1)
      .key("b")
      .begin_array()
      .value(2)
      .value(3)
      .end_array()
      .end_object();
  j.end_object();
  EXPECT_EQ(j.text(),
            "{\n  \"name\": \"x\\ty\",\n  \"n\": 3,\n  \"ok\": true,\n  \"list\": [\n    1.5,\n    {\n"
            "      \"k\": 2\n    }\n  ],\n  \"empty\": [],\n  \"inner\": {\"a\": 1},\n"
            "  \"row\": {\"a\": 1, \"b\": [2, 3]}\n}\n");
}

TEST(JsonWriter, MisuseIsALogicError) {
  json::Writer a;
  a.begin_object();
  EXPECT_THROW(a.value(1), std::logic_error);  // a member without a key
  EXPECT_THROW(a.text(), std::logic_error);    // not complete
  EXPECT_THROW(a.end_array(), std::logic_error);
  json::Writer b;
  EXPECT_THROW(b.key("k"), std::logic_error);  // a key outside an object
}
