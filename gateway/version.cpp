// The build's identity, for /healthz, logs and (later) the build-info metric.
namespace slipway {
const char* version() { return "0.1.0"; }
}  // namespace slipway
