// Unit tests for the fused training kernels (batch norm in training mode,
// dropout, Adam) under AddressSanitizer and UBSan, on 1 and 2 OpenMP threads.
// Expected values are float64 re-computations written here from the formulas,
// not from the kernels. Plain C++17, no framework: the last line is
// "N passed, N failed" and the exit status is non-zero when anything failed.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "nn/batchnorm.hpp"
#include "nn/dropout.hpp"
#include "nn/optimizer.hpp"
#include "nn/parallel.hpp"
#include "wav_builder.hpp"

namespace {

int gPassed = 0;
int gFailed = 0;

#define CHECK(cond, ...)                                              \
  do {                                                                \
    if (cond) {                                                       \
      ++gPassed;                                                      \
    } else {                                                          \
      ++gFailed;                                                      \
      std::printf("FAIL %s:%d: %s\n    ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                       \
      std::printf("\n");                                              \
    }                                                                 \
  } while (0)

std::vector<float> uniform(size_t n, uint64_t seed, double lo, double hi) {
  emotest::Rng rng(seed);
  std::vector<float> x(n);
  for (auto& v : x) v = static_cast<float>(lo + (hi - lo) * rng.uniform());
  return x;
}

// max |a - b| / max(1, max |b|)
double relativeError(const std::vector<float>& a, const std::vector<double>& b) {
  double scale = 1, worst = 0;
  for (double v : b) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < b.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  return worst / scale;
}

// ------------------------------------------------------------------ batch norm

struct Reference {
  std::vector<double> mean, variance, y, dgamma, dbeta, dx;
};

// Training-mode batch norm and its gradients in float64, straight from the
// definitions: y = relu?(gamma * xhat + beta); with g = dy masked by the ReLU,
// dbeta = sum g, dgamma = sum g * xhat, dx = gamma * invStd * (g - mean(g) - xhat * mean(g * xhat)).
Reference reference(const emo::nn::BatchNormTrainShape& s, const std::vector<float>& x, const std::vector<float>& gamma,
                    const std::vector<float>& beta, const std::vector<float>& dy) {
  const size_t R = s.rows, C = s.channels;
  Reference r;
  r.mean.assign(C, 0);
  r.variance.assign(C, 0);
  for (size_t i = 0; i < R; ++i)
    for (size_t c = 0; c < C; ++c) r.mean[c] += x[i * C + c];
  for (auto& m : r.mean) m /= static_cast<double>(R);
  for (size_t i = 0; i < R; ++i)
    for (size_t c = 0; c < C; ++c) r.variance[c] += (x[i * C + c] - r.mean[c]) * (x[i * C + c] - r.mean[c]);
  for (auto& v : r.variance) v /= static_cast<double>(R);
  r.y.resize(R * C);
  r.dx.resize(R * C);
  r.dgamma.assign(C, 0);
  r.dbeta.assign(C, 0);
  std::vector<double> g(R * C), xhat(R * C);
  for (size_t i = 0; i < R * C; ++i) {
    const size_t c = i % C;
    xhat[i] = (x[i] - r.mean[c]) / std::sqrt(r.variance[c] + s.epsilon);
    const double pre = gamma[c] * xhat[i] + beta[c];
    r.y[i] = s.relu ? std::max(0.0, pre) : pre;
    g[i] = s.relu && !(pre > 0) ? 0.0 : dy[i];
    r.dbeta[c] += g[i];
    r.dgamma[c] += g[i] * xhat[i];
  }
  for (size_t i = 0; i < R * C; ++i) {
    const size_t c = i % C;
    const double n = static_cast<double>(R);
    r.dx[i] = gamma[c] / std::sqrt(r.variance[c] + s.epsilon) * (g[i] - r.dbeta[c] / n - xhat[i] * r.dgamma[c] / n);
  }
  return r;
}

struct Outputs {
  std::vector<float> y, mean, variance, dx;
  std::vector<double> sums;
};

Outputs runBatchNorm(const emo::nn::BatchNormTrainShape& s, const std::vector<float>& x, const std::vector<float>& gamma,
                     const std::vector<float>& beta, const std::vector<float>& dy) {
  const size_t C = s.channels;
  Outputs o;
  o.y.assign(x.size(), NAN);
  o.dx.assign(x.size(), NAN);
  o.mean.assign(C, NAN);
  o.variance.assign(C, NAN);
  o.sums.assign(2 * C, NAN);
  bool ok = emo::nn::batchNormTrainForward(s, x.data(), gamma.data(), beta.data(), o.y.data(), o.mean.data(), o.variance.data()).ok();
  ok = ok && emo::nn::batchNormTrainGradSums(s, x.data(), dy.data(), gamma.data(), beta.data(), o.mean.data(), o.variance.data(), o.sums.data()).ok();
  ok = ok && emo::nn::batchNormTrainGradInput(s, x.data(), dy.data(), gamma.data(), beta.data(), o.mean.data(), o.variance.data(),
                                              o.sums.data(), o.dx.data()).ok();
  CHECK(ok, "batch norm kernels failed on rows %zu channels %zu", s.rows, C);
  return o;
}

// Row counts around the kernels' 16-row blocks and their chunks; channel counts
// of the model (16, 32, 64, compiled as constants) and others.
void testBatchNorm(size_t rows, size_t channels, bool relu) {
  emo::nn::BatchNormTrainShape s;
  s.rows = rows;
  s.channels = channels;
  s.epsilon = 1e-3f;
  s.relu = relu;
  const uint64_t seed = rows * 131 + channels * 7 + (relu ? 1 : 0);
  // An offset mean far from zero against the spread: the case where E[x^2] - E[x]^2 cancels.
  const auto x = uniform(rows * channels, seed, 20.0, 22.0);
  const auto gamma = uniform(channels, seed + 1, 0.5, 1.5), beta = uniform(channels, seed + 2, -0.5, 0.5);
  const auto dy = uniform(rows * channels, seed + 3, -1.0, 1.0);
  const Reference r = reference(s, x, gamma, beta, dy);
  std::vector<Outputs> byThreads;
  for (int threads : {1, 2}) {
    emo::nn::setThreads(threads);
    byThreads.push_back(runBatchNorm(s, x, gamma, beta, dy));
    const Outputs& o = byThreads.back();
    const double tol = 1e-4;
    CHECK(relativeError(o.mean, r.mean) < tol, "mean, rows %zu channels %zu: %g", rows, channels, relativeError(o.mean, r.mean));
    CHECK(relativeError(o.variance, r.variance) < 1e-3, "variance, rows %zu channels %zu: %g", rows, channels,
          relativeError(o.variance, r.variance));
    CHECK(relativeError(o.y, r.y) < 1e-3, "y, rows %zu channels %zu relu %d: %g", rows, channels, relu, relativeError(o.y, r.y));
    std::vector<float> dbeta(o.sums.begin(), o.sums.begin() + channels), dgamma(o.sums.begin() + channels, o.sums.end());
    CHECK(relativeError(dbeta, r.dbeta) < 1e-4, "dbeta, rows %zu channels %zu: %g", rows, channels, relativeError(dbeta, r.dbeta));
    CHECK(relativeError(dgamma, r.dgamma) < 1e-3, "dgamma, rows %zu channels %zu: %g", rows, channels, relativeError(dgamma, r.dgamma));
    CHECK(relativeError(o.dx, r.dx) < 1e-3, "dx, rows %zu channels %zu relu %d: %g", rows, channels, relu, relativeError(o.dx, r.dx));
  }
  // The one-call backward gives what the two passes give.
  {
    std::vector<float> dx(rows * channels), dgamma(channels), dbeta(channels);
    const Outputs& o = byThreads.back();
    CHECK(emo::nn::batchNormTrainBackward(s, x.data(), dy.data(), gamma.data(), beta.data(), o.mean.data(), o.variance.data(), dx.data(),
                                          dgamma.data(), dbeta.data()).ok(), "backward failed");
    bool same = dx == o.dx;
    for (size_t c = 0; c < channels; ++c)
      same = same && dbeta[c] == static_cast<float>(o.sums[c]) && dgamma[c] == static_cast<float>(o.sums[channels + c]);
    CHECK(same, "batchNormTrainBackward differs from its two passes, rows %zu channels %zu", rows, channels);
  }
  // The chunked reductions do not depend on the thread count.
  CHECK(byThreads[0].sums == byThreads[1].sums && byThreads[0].mean == byThreads[1].mean && byThreads[0].dx == byThreads[1].dx,
        "1 and 2 threads differ, rows %zu channels %zu", rows, channels);
  emo::nn::setThreads(0);
}

void testBatchNormRefuses() {
  emo::nn::BatchNormTrainShape s;
  s.rows = 4;
  s.channels = 0;
  float v[4] = {1, 2, 3, 4}, out[4], stat[4];
  CHECK(!emo::nn::batchNormTrainForward(s, v, v, v, out, stat, stat).ok(), "no channels accepted");
  s.channels = 1;
  s.epsilon = 0.f;
  CHECK(!emo::nn::batchNormTrainForward(s, v, v, v, out, stat, stat).ok(), "epsilon 0 accepted");
  s.epsilon = NAN;
  CHECK(!emo::nn::batchNormTrainForward(s, v, v, v, out, stat, stat).ok(), "epsilon NaN accepted");
}

void testMovingAverage() {
  const auto moving = uniform(37, 5, -2.0, 2.0), batch = uniform(37, 6, -2.0, 2.0);
  std::vector<float> out(37), inPlace = moving;
  emo::nn::batchNormMovingAverage(37, 0.9, moving.data(), batch.data(), out.data());
  emo::nn::batchNormMovingAverage(37, 0.9, inPlace.data(), batch.data(), inPlace.data());
  // tfjs-layers' float32 steps: moving - (moving - batch) * float32(1 - momentum).
  const float keep = static_cast<float>(1.0 - 0.9);
  bool exact = true;
  for (size_t c = 0; c < 37; ++c) {
    const float difference = moving[c] - batch[c];
    const float step = difference * keep;
    exact = exact && out[c] == moving[c] - step && inPlace[c] == out[c];
  }
  CHECK(exact, "moving average differs from tfjs-layers' arithmetic");
}

// ------------------------------------------------------------------ dropout

void testDropout(size_t n, float rate, uint32_t seed) {
  const auto x = uniform(n, seed, -2.0, 2.0);
  std::vector<float> one(n, NAN), two(n, NAN);
  emo::nn::setThreads(1);
  CHECK(emo::nn::dropout(x.data(), n, rate, seed, one.data()).ok(), "dropout failed");
  emo::nn::setThreads(2);
  CHECK(emo::nn::dropout(x.data(), n, rate, seed, two.data()).ok(), "dropout failed");
  emo::nn::setThreads(0);
  CHECK(one == two, "dropout differs between 1 and 2 threads (n %zu)", n);
  const double scale = 1.0 / (1.0 - rate);
  size_t kept = 0, wrong = 0;
  for (size_t i = 0; i < n; ++i) {
    const bool keep = emo::nn::dropoutKeeps(seed, i, rate);
    kept += keep;
    const double expected = keep ? x[i] * scale : 0.0;
    if (std::abs(one[i] - expected) > 1e-6 * std::abs(expected)) ++wrong;
  }
  CHECK(wrong == 0, "%zu elements are neither x / (1 - rate) nor 0", wrong);
  // Binomial: within 5 standard deviations of n (1 - rate).
  const double mean = n * (1.0 - rate), sd = std::sqrt(n * rate * (1.0 - rate));
  CHECK(std::abs(static_cast<double>(kept) - mean) <= 5 * sd + 1, "kept %zu of %zu at rate %g", kept, n, rate);
}

void testDropoutRefuses() {
  float v[2] = {1, 2}, out[2];
  CHECK(!emo::nn::dropout(v, 2, 1.f, 1, out).ok(), "rate 1 accepted");
  CHECK(!emo::nn::dropout(v, 2, -0.1f, 1, out).ok(), "negative rate accepted");
  CHECK(!emo::nn::dropout(v, 2, NAN, 1, out).ok(), "NaN rate accepted");
}

// ------------------------------------------------------------------ Adam

void testAdam(size_t n, bool inPlace) {
  auto x = uniform(n, n, -1.0, 1.0), m = uniform(n, n + 1, -0.1, 0.1), v = uniform(n, n + 2, 0.0, 0.01);
  const auto g = uniform(n, n + 3, -1.0, 1.0);
  const double lr = 0.001, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  const int t = 3;
  const double c1 = 1 - std::pow(b1, t), c2 = 1 - std::pow(b2, t);
  std::vector<double> ex(n), em(n), ev(n);
  for (size_t i = 0; i < n; ++i) {
    em[i] = b1 * m[i] + (1 - b1) * g[i];
    ev[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    ex[i] = x[i] - lr * (em[i] / c1) / (std::sqrt(ev[i] / c2) + eps);
  }
  const emo::nn::AdamStep step{static_cast<float>(lr), static_cast<float>(b1), static_cast<float>(b2), static_cast<float>(eps),
                               static_cast<float>(c1), static_cast<float>(c2)};
  std::vector<float> xo(n, NAN), mo(n, NAN), vo(n, NAN);
  float *px = inPlace ? x.data() : xo.data(), *pm = inPlace ? m.data() : mo.data(), *pv = inPlace ? v.data() : vo.data();
  CHECK(emo::nn::adamUpdate(step, n, x.data(), m.data(), v.data(), g.data(), px, pm, pv).ok(), "adam failed");
  const std::vector<float> rx(px, px + n), rm(pm, pm + n), rv(pv, pv + n);
  CHECK(relativeError(rm, em) < 1e-6 && relativeError(rv, ev) < 1e-6, "adam moments (n %zu)", n);
  CHECK(relativeError(rx, ex) < 1e-6, "adam weights (n %zu in place %d): %g", n, inPlace, relativeError(rx, ex));
}

void testAdamRefuses() {
  float v[1] = {0};
  const emo::nn::AdamStep bad{NAN, 0.9f, 0.999f, 1e-7f, 0.1f, 0.001f};
  CHECK(!emo::nn::adamUpdate(bad, 1, v, v, v, v, v, v, v).ok(), "NaN learning rate accepted");
  const emo::nn::AdamStep zero{0.001f, 0.9f, 0.999f, 1e-7f, 0.f, 0.001f};
  CHECK(!emo::nn::adamUpdate(zero, 1, v, v, v, v, v, v, v).ok(), "zero correction accepted");
}

}  // namespace

int main() {
  for (size_t channels : {1, 3, 16, 32, 64})
    for (size_t rows : {1, 15, 17, 1031, 4099})
      for (bool relu : {false, true}) testBatchNorm(rows, channels, relu);
  testBatchNormRefuses();
  testMovingAverage();
  for (size_t n : {1, 100, 70001}) testDropout(n, 0.3f, static_cast<uint32_t>(n) * 2654435761U);
  testDropout(50000, 0.f, 7);
  testDropoutRefuses();
  for (size_t n : {1, 33, 100003})
    for (bool inPlace : {false, true}) testAdam(n, inPlace);
  testAdamRefuses();
  std::printf("%d passed, %d failed\n", gPassed, gFailed);
  return gFailed == 0 ? 0 : 1;
}
