// TLS sections of the config (docs/tls.md): `listen.tls` / `admin.tls` (certificate and key of a
// listener) and the top-level `upstream_tls` (how https:// endpoints are verified). The PEM files are
// read and checked here, at load time, so a reload re-reads them and a bad file is a rejected reload
// that names its key. Internal to the config library.
#pragma once

#include <optional>
#include <string>

#include <yaml-cpp/yaml.h>

#include "config/config.hpp"
#include "config/yaml_reader.hpp"

namespace slipway::config::detail {

// `tls: {cert_file, key_file, handshake_timeout}` of a listener at `path` (e.g. "listen.tls").
void parse_server_tls(Reader& r, const YAML::Node& n, const std::string& path, std::optional<ServerTls>& out);
// `upstream_tls: {ca_file, insecure_skip_verify}`.
void parse_upstream_tls(Reader& r, const YAML::Node& n, const std::string& path, UpstreamTls& out);

}  // namespace slipway::config::detail
