#include "resample.hpp"

#include <algorithm>
#include <cmath>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <tuple>
#include <vector>

namespace emo {
namespace {

constexpr double kPi = 3.14159265358979323846;

// The polyphase form of torchaudio's kernel after dividing both rates by their gcd.
struct Geometry {
  int64_t orig = 0;  // input samples per period
  int64_t next = 0;  // output samples per period (one kernel row each)
  int64_t width = 0; // torchaudio's padding: ceil(lowpass_filter_width * orig / base)
  double base = 0;   // cut-off in units of the reduced rates
  int lowpassWidth = 6;

  Geometry(uint32_t fromRate, uint32_t toRate, const ResampleConfig& config) {
    const int64_t g = std::gcd<int64_t, int64_t>(fromRate, toRate);
    orig = fromRate / g;
    next = toRate / g;
    lowpassWidth = config.lowpassFilterWidth;
    base = static_cast<double>(std::min(orig, next)) * config.rolloff;
    width = static_cast<int64_t>(std::ceil(lowpassWidth * static_cast<double>(orig) / base));
  }
  int64_t taps() const { return 2 * width + orig; }
};

// Row j of the kernel, restricted to its non-zero taps: weights for padded
// positions [first, first + size) of the row's 2*width + orig taps. Taps where
// torchaudio clamps t to +-lowpass_filter_width are zero after its cast to
// float32 (window cos^2(pi/2) ~ 4e-33 times sinc ~ 4e-17), so skipping them is exact.
struct Row {
  int64_t first = 0;
  std::vector<float> weights;
};

Row computeRow(const Geometry& geo, int64_t j) {
  Row row;
  const double lw = geo.lowpassWidth;
  const double scale = geo.base / static_cast<double>(geo.orig);
  const auto tAt = [&](int64_t k) { return (static_cast<double>(k - geo.width) / geo.orig - static_cast<double>(j) / geo.next) * geo.base; };
  // Only taps within lowpass_filter_width zero crossings of the row's centre can
  // be non-zero: scan that window, not all 2*width + orig taps (for a reduced
  // period like 44 099 Hz that is the difference between 13 and 44 000 steps).
  const double centre = static_cast<double>(geo.width) + static_cast<double>(geo.orig) * static_cast<double>(j) / static_cast<double>(geo.next);
  const double reach = static_cast<double>(geo.orig) * lw / geo.base;
  const int64_t scanBegin = std::max<int64_t>(0, static_cast<int64_t>(std::floor(centre - reach)) - 1);
  const int64_t scanEnd = std::min<int64_t>(geo.taps(), static_cast<int64_t>(std::ceil(centre + reach)) + 2);
  int64_t lo = -1;
  int64_t hi = -1;
  for (int64_t k = scanBegin; k < scanEnd; ++k) {
    if (!(std::fabs(tAt(k)) < lw)) continue;
    if (lo < 0) lo = k;
    hi = k + 1;
  }
  if (lo < 0) return row;
  row.first = lo;
  row.weights.resize(static_cast<size_t>(hi - lo));
  for (int64_t k = lo; k < hi; ++k) {
    const double t = tAt(k);
    const double window = std::cos(t * kPi / lw / 2.0);
    const double sinc = t == 0.0 ? 1.0 : std::sin(t * kPi) / (t * kPi);
    row.weights[static_cast<size_t>(k - lo)] = static_cast<float>(sinc * window * window * scale);
  }
  return row;
}

struct Table {
  Geometry geo;
  std::vector<Row> rows;
};

// Tables are small for usual rate pairs (44.1k -> 48k: 160 rows of ~13 taps) and
// shared by all threads. Rate pairs whose table would be huge (a reduced period
// of tens of thousands of rows with many taps, e.g. 767 999 -> 48 000 Hz) get
// none: their rows are computed per output sample instead of filling memory.
constexpr int64_t kMaxTableWeights = 1 << 22;

size_t tableBytes(const Table& table) {
  size_t bytes = sizeof(Table) + table.rows.capacity() * sizeof(Row);
  for (const Row& row : table.rows) bytes += row.weights.capacity() * sizeof(float);
  return bytes;
}

// The tables in use, least recently used first out, bounded in bytes rather than in entries:
// a server that meets many odd rates (190 001, 190 017, ... Hz: up to ~18 MB of weights each)
// keeps at most kCacheBytes of them.
class TableCache {
 public:
  static constexpr size_t kCacheBytes = 32u << 20;
  using Key = std::tuple<uint32_t, uint32_t, int, double>;

  std::shared_ptr<const Table> find(const Key& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second.position);  // most recently used
    return it->second.table;
  }

  void insert(const Key& key, std::shared_ptr<const Table> table) {
    const size_t bytes = tableBytes(*table);
    if (bytes > kCacheBytes) return;  // used for this clip only
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.count(key) != 0) return;
    while (total_ + bytes > kCacheBytes && !order_.empty()) {
      auto last = entries_.find(order_.back());
      total_ -= last->second.bytes;
      entries_.erase(last);
      order_.pop_back();
    }
    order_.push_front(key);
    entries_.emplace(key, Entry{std::move(table), bytes, order_.begin()});
    total_ += bytes;
  }

 private:
  struct Entry {
    std::shared_ptr<const Table> table;
    size_t bytes;
    std::list<Key>::iterator position;
  };
  std::mutex mutex_;
  std::list<Key> order_;
  std::map<Key, Entry> entries_;
  size_t total_ = 0;
};

std::shared_ptr<const Table> tableFor(uint32_t fromRate, uint32_t toRate, const ResampleConfig& config) {
  static TableCache* cache = new TableCache();  // never destroyed: pool threads may use it at exit
  const TableCache::Key key{fromRate, toRate, config.lowpassFilterWidth, config.rolloff};
  if (auto hit = cache->find(key)) return hit;
  Geometry geo(fromRate, toRate, config);
  const int64_t approxTaps = static_cast<int64_t>(std::ceil(2.0 * geo.lowpassWidth * geo.orig / geo.base)) + 2;
  if (geo.next * approxTaps > kMaxTableWeights) return nullptr;
  auto table = std::make_shared<Table>(Table{geo, {}});
  table->rows.reserve(static_cast<size_t>(geo.next));
  for (int64_t j = 0; j < geo.next; ++j) table->rows.push_back(computeRow(geo, j));
  cache->insert(key, table);
  return table;
}

inline float applyRow(const Row& row, const float* x, size_t available, int64_t start) {
  // start: input index of the row's first non-zero tap
  const int64_t size = static_cast<int64_t>(row.weights.size());
  const float* w = row.weights.data();
  float sum = 0.0f;
  if (start >= 0 && start + size <= static_cast<int64_t>(available)) {
    const float* px = x + start;
    for (int64_t k = 0; k < size; ++k) sum += w[k] * px[k];
    return sum;
  }
  for (int64_t k = 0; k < size; ++k) {
    const int64_t i = start + k;
    if (i >= 0 && i < static_cast<int64_t>(available)) sum += w[k] * x[i];
  }
  return sum;
}

}  // namespace

size_t resampleInputEnd(uint32_t fromRate, uint32_t toRate, const ResampleConfig& config, size_t outputEnd) {
  if (outputEnd == 0) return 0;
  const Geometry geo(fromRate, toRate, config);
  const int64_t lastBlock = static_cast<int64_t>(outputEnd - 1) / geo.next;
  return static_cast<size_t>(lastBlock * geo.orig + geo.taps() - geo.width);
}

Status resampleRange(const float* x, size_t available, size_t length, uint32_t fromRate, uint32_t toRate,
                     const ResampleConfig& config, size_t first, size_t count, float* out) {
  if (fromRate == 0 || toRate == 0 || config.lowpassFilterWidth <= 0 || !(config.rolloff > 0.0) || config.rolloff > 1.0)
    return Status::error(Code::InvalidConfig, "invalid resampling configuration");
  if (fromRate == toRate) {
    for (size_t i = 0; i < count; ++i) out[i] = first + i < available ? x[first + i] : 0.0f;
    return Status::success();
  }
  const Geometry geo(fromRate, toRate, config);
  const size_t targetLength = static_cast<size_t>(std::ceil(static_cast<double>(geo.next) * static_cast<double>(length) / static_cast<double>(geo.orig)));
  const std::shared_ptr<const Table> table = tableFor(fromRate, toRate, config);
  for (size_t i = 0; i < count; ++i) {
    const size_t n = first + i;
    if (n >= targetLength) {
      out[i] = 0.0f;
      continue;
    }
    const int64_t block = static_cast<int64_t>(n) / geo.next;
    const int64_t phase = static_cast<int64_t>(n) % geo.next;
    if (table) {
      const Row& row = table->rows[static_cast<size_t>(phase)];
      out[i] = applyRow(row, x, available, block * geo.orig + row.first - geo.width);
    } else {
      const Row row = computeRow(geo, phase);
      out[i] = applyRow(row, x, available, block * geo.orig + row.first - geo.width);
    }
  }
  return Status::success();
}

}  // namespace emo
