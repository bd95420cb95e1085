// The statistical tests behind the rollback triggers. Pure functions of window counts.
//
// Rates: a one-sided mixture sequential probability ratio test (mSPRT, Johari, Pekelis & Walsh 2017; the
// "always-valid p-value" of Optimizely's stats engine) on the difference of two proportions with a normal
// approximation and plug-in variance. H0: canary <= (1 + tolerance_rel) * baseline + tolerance_abs (or the
// mirror image for "lower is worse"). Mixing distribution: half-normal, sd tau (mixing_sd), on the excess
// over the tolerance. The likelihood ratio has a closed form:
//   Lambda = 2 sqrt(V / (V + tau^2)) exp(tau^2 x^2 / (2 V (V + tau^2))) Phi(x tau / sqrt(V (V + tau^2)))
// with x the estimated excess over the tolerance and V its variance. p = min(1, 1/Lambda) is valid at every
// look (Ville's inequality), so checking every few seconds costs nothing in error rate.
//
// Latency: a quantile-exceedance test. Let q be the baseline's q-quantile (upper edge of its histogram bin).
// If the canary's latency is no worse than (1 + tolerance_rel) times the baseline's (in the quantile-function
// sense), then P(canary > (1 + tol) q) <= P(baseline > q). So the share of canary requests above the first
// bin edge >= (1 + tol) q is compared with the share of baseline requests above q with the same one-sided
// mSPRT and no further tolerance. See docs/judgement.md.
#pragma once

#include <cstdint>
#include <string>

#include "gateway/rollout/window.hpp"

namespace slipway::rollout {

enum class Direction : uint8_t { higher_is_worse, lower_is_worse, either };
const char* to_string(Direction d);

enum class Verdict : uint8_t { fired, min_sample, within_tolerance, not_significant };
const char* to_string(Verdict v);

// What one test says, with the numbers for logs, metrics and alerts.
struct Evaluation {
  Verdict verdict = Verdict::min_sample;
  bool fired() const { return verdict == Verdict::fired; }
  double canary_rate = 0;      // failure share, or latency exceedance share
  double baseline_rate = 0;
  uint64_t canary_n = 0;       // trials in the test's data
  uint64_t baseline_n = 0;
  uint64_t canary_events = 0;  // failures / exceedances
  uint64_t baseline_events = 0;
  double canary_value = 0;     // latency only: the canary's and baseline's quantile estimates, seconds
  double baseline_value = 0;
  double excess = 0;           // estimated excess over the tolerance (> 0: worse than tolerated)
  double statistic = 0;        // z = excess / sqrt(V)
  double p_value = 1;          // always-valid p-value
  double threshold = 0;        // the alpha this test was held to (after the split)
  Direction direction = Direction::higher_is_worse;  // for "either": the side that gave p_value
};

struct RateTestParams {
  double tolerance_abs = 0.0;
  double tolerance_rel = 0.0;
  double mixing_sd = 0.02;  // tau: the size of excess the test is tuned to detect
  double alpha = 1e-4;      // per-test threshold (already split)
  uint64_t min_samples = 500;
  Direction direction = Direction::higher_is_worse;
};

struct LatencyTestParams {
  double quantile = 0.95;
  double tolerance_rel = 0.10;
  double mixing_sd = 0.03;
  double alpha = 1e-4;
  uint64_t min_samples = 500;
};

// log of the one-sided mSPRT likelihood ratio for an estimate `excess` with variance `var`, mixing sd tau.
double msprt_log_lr(double excess, double var, double tau);

Evaluation rate_test(RateCount canary, RateCount baseline, const RateTestParams& p);
Evaluation latency_test(const Histogram& canary, const Histogram& baseline, const LatencyTestParams& p);

// The q-quantile of a histogram, interpolated geometrically within its bin (0 if empty).
double histogram_quantile(const Histogram& h, double q);

}  // namespace slipway::rollout
