#include "tools/replay/stats.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <boost/math/distributions/normal.hpp>

namespace slipway::replay {

double two_sided_z(double confidence) {
  if (!(confidence > 0 && confidence < 1)) throw std::invalid_argument("confidence must be in (0, 1)");
  boost::math::normal_distribution<double> standard_normal(0.0, 1.0);
  return boost::math::quantile(standard_normal, 1.0 - (1.0 - confidence) / 2.0);
}

Interval wilson_interval(uint64_t successes, uint64_t n, double confidence) {
  if (n == 0) return {0.0, 1.0};
  const double z = two_sided_z(confidence);
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(successes) / nn;
  const double z2 = z * z;
  const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = z / (1 + z2 / nn) * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  // At p = 0 or 1 one bound is exactly 0 or 1; rounding would otherwise leave 1e-17 there.
  Interval out{std::max(0.0, centre - half), std::min(1.0, centre + half)};
  if (successes == 0) out.lower = 0.0;
  if (successes == n) out.upper = 1.0;
  return out;
}

namespace {

double rate(uint64_t x, uint64_t n) { return n == 0 ? 0.0 : static_cast<double>(x) / static_cast<double>(n); }

// Newcombe's square-and-add step for d = p_c - p_b from the two Wilson intervals; phi is the correlation
// between the two estimates (0 for independent samples).
Interval square_and_add(double p_b, Interval w_b, double p_c, Interval w_c, double phi) {
  const double d = p_c - p_b;
  // Lower bound: the candidate as low and the baseline as high as their intervals allow.
  const double lc = p_c - w_c.lower, ub = w_b.upper - p_b;
  const double uc = w_c.upper - p_c, lb = p_b - w_b.lower;
  const double delta = std::sqrt(std::max(0.0, lc * lc - 2 * phi * lc * ub + ub * ub));
  const double epsilon = std::sqrt(std::max(0.0, uc * uc - 2 * phi * uc * lb + lb * lb));
  return {std::max(-1.0, d - delta), std::min(1.0, d + epsilon)};
}

}  // namespace

Interval newcombe_independent(uint64_t baseline_successes, uint64_t baseline_n, uint64_t candidate_successes,
                              uint64_t candidate_n, double confidence) {
  if (baseline_n == 0 || candidate_n == 0) return {-1.0, 1.0};
  return square_and_add(rate(baseline_successes, baseline_n), wilson_interval(baseline_successes, baseline_n, confidence),
                        rate(candidate_successes, candidate_n),
                        wilson_interval(candidate_successes, candidate_n, confidence), 0.0);
}

double PairedCounts::baseline_rate() const { return rate(baseline_passes(), n()); }
double PairedCounts::candidate_rate() const { return rate(candidate_passes(), n()); }

Interval newcombe_paired(const PairedCounts& c, double confidence) {
  const uint64_t n = c.n();
  if (n == 0) return {-1.0, 1.0};
  // phi of the 2x2 table, with Newcombe's continuity correction: a positive association is shrunk by n/2
  // (and not below 0); zero margins make it 0.
  const double a = static_cast<double>(c.both), b = static_cast<double>(c.baseline_only);
  const double cc = static_cast<double>(c.candidate_only), d = static_cast<double>(c.neither);
  const double margins = (a + b) * (cc + d) * (a + cc) * (b + d);
  double phi = 0.0;
  if (margins > 0) {
    const double ad_bc = a * d - b * cc;
    const double half_n = static_cast<double>(n) / 2.0;
    double numerator = 0.0;
    if (ad_bc > half_n) numerator = ad_bc - half_n;
    else if (ad_bc < 0) numerator = ad_bc;
    phi = numerator / std::sqrt(margins);
  }
  return square_and_add(c.baseline_rate(), wilson_interval(c.baseline_passes(), n, confidence), c.candidate_rate(),
                        wilson_interval(c.candidate_passes(), n, confidence), phi);
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  q = std::clamp(q, 0.0, 1.0);
  const double h = (static_cast<double>(values.size()) - 1) * q;
  const auto lo = static_cast<size_t>(std::floor(h));
  const auto hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (h - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

}  // namespace slipway::replay
