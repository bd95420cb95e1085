// Parsers of config sections that live in their own files; shared by config_parser.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.hpp"
#include "config/yaml_reader.hpp"

namespace slipway::config::detail {

// A header name: lower-cased, token characters only. "" allowed only when allow_empty.
void read_header_name(Reader& r, const YAML::Node& v, const std::string& path, bool allow_empty, std::string& out);
// `address` (an IP literal: listeners never resolve names) and `port` (0..65535) of a listener section;
// `examples` go into the error message.
void read_address_and_port(Reader& r, const YAML::Node& n, const std::string& path, std::string_view examples,
                           std::string& address, uint16_t& port);
// `slices:` (metric slices, bounded) and `admin:` (the admin listener).
void parse_slices(Reader& r, const YAML::Node& node, const Config& cfg, std::vector<SliceRule>& out);
void parse_admin(Reader& r, const YAML::Node& n, const std::string& path, Admin& out);
// `models[].rollout`, `state_dir`, `rollout_evaluate_every` and `alerting` (config/rollout_parser.cpp).
// Call after models and slices are in cfg: a rollout reads its model's canary and its triggers name slices.
void parse_rollout_settings(Reader& r, const YAML::Node& root, Config& cfg);
// `fleet` (config/fleet_parser.cpp): the shared store of a gateway's replicas. parse_redis_url fills
// store/host/port/db from "redis://host:port[/db]" and returns "" or why the text is not one.
void parse_fleet(Reader& r, const YAML::Node& root, Config& cfg);
std::string parse_redis_url(std::string_view text, Fleet& out);

}  // namespace slipway::config::detail
