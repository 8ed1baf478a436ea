#include "conv.hpp"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "memory.hpp"
#include "parallel.hpp"

namespace emo::nn {
namespace {

namespace dn = dnnl;
using tag = dn::memory::format_tag;
using dims = dn::memory::dims;
constexpr auto f32 = dn::memory::data_type::f32;

enum class Pass : int { Forward = 0, BackwardData = 1, BackwardFilter = 2 };
const char* passName(Pass p) {
  switch (p) {
    case Pass::Forward: return "forward";
    case Pass::BackwardData: return "backward-data";
    case Pass::BackwardFilter: return "backward-filter";
  }
  return "?";
}

// oneDNN keeps compiled primitives (JIT code) in a process-wide cache of 1024 entries by default.
// The network has a dozen convolution shapes per batch size; 128 entries hold every shape of
// several batch sizes and bound the memory a long-lived process can spend on them.
constexpr int kPrimitiveCacheCapacity = 128;

dn::engine& cpuEngine() {
  static dn::engine e = [] {
    dn::set_primitive_cache_capacity(kPrimitiveCacheCapacity);
    return dn::engine(dn::engine::kind::cpu, 0);
  }();
  return e;
}

using ShapeTuple = std::tuple<int, int, int, int, int, int, int, int, int, int, int, int, int, int, int, int, int>;
ShapeTuple tupleOf(const Conv2dShape& s) {
  return {s.batch, s.inHeight, s.inWidth, s.inChannels, s.outHeight, s.outWidth, s.outChannels, s.filterHeight,
          s.filterWidth, s.strideHeight, s.strideWidth, s.dilationHeight, s.dilationWidth, s.padTop, s.padLeft,
          s.padBottom, s.padRight};
}

// What a cached plan was built for. `impl` counts the acceptable oneDNN
// implementations in oneDNN's order of preference: auto-tuning builds one
// plan per candidate.
struct PlanKey {
  Pass pass;
  ShapeTuple shape;
  int activation;
  float alpha;
  bool bias;
  int impl;
  bool operator<(const PlanKey& o) const {
    return std::tie(pass, shape, activation, alpha, bias, impl) < std::tie(o.pass, o.shape, o.activation, o.alpha, o.bias, o.impl);
  }
};

// oneDNN's GEMM-based convolutions run JIT code that points the stack pointer
// into heap memory (oneDNN issue #4845, present in Debian's 2.6): a signal
// arriving meanwhile (a profiler's SIGPROF, SIGCHLD, Ctrl-C) corrupts the heap.
// Reproduced here with --cpu-prof. They are never used; the reference
// implementations are too slow to be worth trying.
bool acceptable(const std::string& impl) { return impl.find("gemm") == std::string::npos && impl.find("ref") == std::string::npos; }

// Moves pd to the first implementation of the n-th acceptable kind (oneDNN
// lists several variants of one kernel, e.g. jit:avx512_core for different
// layouts, before the next ISA); false when there is none.
template <class PrimitiveDesc>
bool selectImpl(PrimitiveDesc& pd, int n) {
  std::vector<std::string> kinds;
  do {
    const std::string impl = pd.impl_info_str();
    if (!acceptable(impl) || std::find(kinds.begin(), kinds.end(), impl) != kinds.end()) continue;
    kinds.push_back(impl);
    if (static_cast<int>(kinds.size()) == n + 1) return true;
  } while (pd.next_impl());
  return false;
}

// One tensor of a pass: how the caller holds it, how the primitive wants it,
// and the reorder between the two when they differ.
struct Operand {
  dn::memory::desc user;
  dn::memory::desc internal;
  dn::reorder convert;  // user -> internal for inputs, internal -> user for the output
  bool reordered() const { return !(user == internal); }
};

struct Plan {
  dn::primitive primitive;
  Operand in1, in2, out;  // forward: src, weights, dst; data: diff_dst, weights, diff_src; filter: src, diff_dst, diff_weights
  int in1Arg = 0, in2Arg = 0, outArg = 0;
  size_t scratchpadBytes = 0;
  std::string impl;
};

dims srcDims(const Conv2dShape& s) { return {s.batch, s.inChannels, s.inHeight, s.inWidth}; }
dims dstDims(const Conv2dShape& s) { return {s.batch, s.outChannels, s.outHeight, s.outWidth}; }
dims weiDims(const Conv2dShape& s) { return {s.outChannels, s.inChannels, s.filterHeight, s.filterWidth}; }

Operand operand(const dn::memory::desc& user, const dn::memory::desc& internal, bool isOutput) {
  Operand o{user, internal, {}};
  if (o.reordered()) {
    dn::engine& e = cpuEngine();
    o.convert = isOutput ? dn::reorder(dn::reorder::primitive_desc(e, internal, e, user))
                         : dn::reorder(dn::reorder::primitive_desc(e, user, e, internal));
  }
  return o;
}

// The plan for key, or null when oneDNN has no key.impl-th acceptable implementation.
std::unique_ptr<Plan> buildPlan(const PlanKey& key, const Conv2dShape& s) {
  dn::engine& e = cpuEngine();
  // Tensors arrive channels-last; oneDNN's direct kernels pick their own
  // (blocked) layouts and we reorder in and out.
  const dn::memory::desc srcUser(srcDims(s), f32, tag::nhwc), dstUser(dstDims(s), f32, tag::nhwc),
      weiUser(weiDims(s), f32, tag::hwio);
  const dn::memory::desc srcAny(srcDims(s), f32, tag::any), dstAny(dstDims(s), f32, tag::any), weiAny(weiDims(s), f32, tag::any);
  const dn::memory::desc biasMd({s.outChannels}, f32, tag::x);
  const dims strides{s.strideHeight, s.strideWidth};
  const dims dilation{s.dilationHeight - 1, s.dilationWidth - 1};
  const dims padL{s.padTop, s.padLeft}, padR{s.padBottom, s.padRight};

  dn::primitive_attr attr;
  attr.set_scratchpad_mode(dn::scratchpad_mode::user);
  dn::primitive_attr fwdAttr = attr;
  const auto act = static_cast<Activation>(key.activation);
  if (key.pass == Pass::Forward && act != Activation::Linear) {
    dn::post_ops ops;
    switch (act) {
      case Activation::Relu: ops.append_eltwise(1.f, dn::algorithm::eltwise_relu, 0.f, 0.f); break;
      case Activation::LeakyRelu: ops.append_eltwise(1.f, dn::algorithm::eltwise_relu, key.alpha, 0.f); break;
      case Activation::Relu6: ops.append_eltwise(1.f, dn::algorithm::eltwise_clip, 0.f, 6.f); break;
      case Activation::Elu: ops.append_eltwise(1.f, dn::algorithm::eltwise_elu, 1.f, 0.f); break;
      case Activation::Sigmoid: ops.append_eltwise(1.f, dn::algorithm::eltwise_logistic, 0.f, 0.f); break;
      case Activation::Linear: break;
    }
    fwdAttr.set_post_ops(ops);
  }
  auto fwdDesc = key.bias && key.pass == Pass::Forward
                     ? dn::convolution_forward::desc(dn::prop_kind::forward_training, dn::algorithm::convolution_direct,
                                                     srcAny, weiAny, biasMd, dstAny, strides, dilation, padL, padR)
                     : dn::convolution_forward::desc(dn::prop_kind::forward_training, dn::algorithm::convolution_direct,
                                                     srcAny, weiAny, dstAny, strides, dilation, padL, padR);
  dn::convolution_forward::primitive_desc fwd(fwdDesc, key.pass == Pass::Forward ? fwdAttr : attr, e);

  auto plan = std::make_unique<Plan>();
  switch (key.pass) {
    case Pass::Forward:
      if (!selectImpl(fwd, key.impl)) return nullptr;
      plan->primitive = dn::convolution_forward(fwd);
      plan->in1 = operand(srcUser, fwd.src_desc(), false);
      plan->in2 = operand(weiUser, fwd.weights_desc(), false);
      plan->out = operand(dstUser, fwd.dst_desc(), true);
      plan->in1Arg = DNNL_ARG_SRC;
      plan->in2Arg = DNNL_ARG_WEIGHTS;
      plan->outArg = DNNL_ARG_DST;
      plan->scratchpadBytes = fwd.scratchpad_desc().get_size();
      plan->impl = fwd.impl_info_str();
      break;
    case Pass::BackwardData: {
      dn::convolution_backward_data::desc d(dn::algorithm::convolution_direct, srcAny, weiAny, dstAny, strides, dilation,
                                            padL, padR);
      dn::convolution_backward_data::primitive_desc pd(d, attr, e, fwd);
      if (!selectImpl(pd, key.impl)) return nullptr;
      plan->primitive = dn::convolution_backward_data(pd);
      plan->in1 = operand(dstUser, pd.diff_dst_desc(), false);
      plan->in2 = operand(weiUser, pd.weights_desc(), false);
      plan->out = operand(srcUser, pd.diff_src_desc(), true);
      plan->in1Arg = DNNL_ARG_DIFF_DST;
      plan->in2Arg = DNNL_ARG_WEIGHTS;
      plan->outArg = DNNL_ARG_DIFF_SRC;
      plan->scratchpadBytes = pd.scratchpad_desc().get_size();
      plan->impl = pd.impl_info_str();
      break;
    }
    case Pass::BackwardFilter: {
      dn::convolution_backward_weights::desc d(dn::algorithm::convolution_direct, srcAny, weiAny, dstAny, strides,
                                               dilation, padL, padR);
      dn::convolution_backward_weights::primitive_desc pd(d, attr, e, fwd);
      if (!selectImpl(pd, key.impl)) return nullptr;
      plan->primitive = dn::convolution_backward_weights(pd);
      plan->in1 = operand(srcUser, pd.src_desc(), false);
      plan->in2 = operand(dstUser, pd.diff_dst_desc(), false);
      plan->out = operand(weiUser, pd.diff_weights_desc(), true);
      plan->in1Arg = DNNL_ARG_SRC;
      plan->in2Arg = DNNL_ARG_DIFF_DST;
      plan->outArg = DNNL_ARG_DIFF_WEIGHTS;
      plan->scratchpadBytes = pd.scratchpad_desc().get_size();
      plan->impl = pd.impl_info_str();
      break;
    }
  }
  return plan;
}

// Per shape and pass: the candidates auto-tuning timed and its choice.
struct Tuning {
  std::vector<std::pair<std::string, double>> timings;  // implementation, seconds
  int chosen = -1;
};

struct Registry {
  std::mutex mutex;
  std::map<PlanKey, std::unique_ptr<Plan>> plans;  // null: no such implementation
  std::map<std::pair<Pass, ShapeTuple>, Tuning> tunings;
};
Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

Plan* findPlan(const PlanKey& key, const Conv2dShape& s) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.plans.find(key);
  if (it != r.plans.end()) return it->second.get();
  auto plan = buildPlan(key, s);
  Plan* raw = plan.get();
  r.plans.emplace(key, std::move(plan));
  return raw;
}

// The implementation an earlier call chose for this pass and shape, or -1.
int chosenImpl(Pass pass, const ShapeTuple& shape) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.tunings.find({pass, shape});
  return it == r.tunings.end() ? -1 : it->second.chosen;
}

void execute(const Plan& plan, const Conv2dShape& s, const float* in1, const float* in2, const float* bias, float* out) {
  dn::engine& e = cpuEngine();
  dn::stream stream(e);
  Scratch s1, s2, s3, pad;
  auto input = [&](const Operand& o, const float* data, Scratch& scratch) {
    dn::memory user(o.user, e, const_cast<float*>(data));
    if (!o.reordered()) return user;
    if (!scratch.resize(o.internal.get_size())) throw std::bad_alloc();
    dn::memory internal(o.internal, e, scratch.data());
    o.convert.execute(stream, user, internal);
    return internal;
  };
  dn::memory m1 = input(plan.in1, in1, s1);
  dn::memory m2 = input(plan.in2, in2, s2);
  dn::memory userOut(plan.out.user, e, out);
  dn::memory mOut = userOut;
  if (plan.out.reordered()) {
    if (!s3.resize(plan.out.internal.get_size())) throw std::bad_alloc();
    mOut = dn::memory(plan.out.internal, e, s3.data());
  }
  if (!pad.resize(plan.scratchpadBytes)) throw std::bad_alloc();
  std::unordered_map<int, dn::memory> args{{plan.in1Arg, m1}, {plan.in2Arg, m2}, {plan.outArg, mOut}};
  args.emplace(DNNL_ARG_SCRATCHPAD,
               dn::memory(dn::memory::desc({static_cast<dn::memory::dim>(plan.scratchpadBytes)}, dn::memory::data_type::u8, tag::x),
                          e, pad.data()));
  if (bias != nullptr)
    args.emplace(DNNL_ARG_BIAS, dn::memory(dn::memory::desc({s.outChannels}, f32, tag::x), e, const_cast<float*>(bias)));
  plan.primitive.execute(stream, args);
  if (plan.out.reordered()) plan.out.convert.execute(stream, mOut, userOut);
  stream.wait();
}

constexpr int kMaxCandidates = 3;

Status run(Pass pass, const Conv2dShape& s, const float* in1, const float* in2, const float* bias, Activation act,
           float alpha, float* out, bool* unsupported) {
  *unsupported = false;
  Status v = validateConv2d(s);
  if (!v.ok()) return v;
  applyThreads();
  const ShapeTuple shape = tupleOf(s);
  auto keyFor = [&](int impl) {
    return PlanKey{pass, shape, static_cast<int>(act), act == Activation::LeakyRelu ? alpha : 0.f, bias != nullptr, impl};
  };
  try {
    const int chosen = chosenImpl(pass, shape);
    if (chosen >= 0) {
      execute(*findPlan(keyFor(chosen), s), s, in1, in2, bias, out);
      return Status::success();
    }
    // First call of this shape and pass. By default take the first acceptable
    // implementation (the widest ISA the CPU has): the choice, and so every
    // rounding, is then the same in every run, which reproducible training
    // needs. With EMO_NN_AUTOTUNE=1, run each candidate (AVX-512, AVX2, SSE4.1
    // kernels, as the CPU allows) twice, the first run paying for JIT
    // compilation and cold memory, and keep the fastest: a timing-dependent
    // choice, so results may differ in the last bits between runs.
    static const bool autotune = [] {
      const char* flag = std::getenv("EMO_NN_AUTOTUNE");
      return flag != nullptr && std::string(flag) == "1";
    }();
    Tuning t;
    double best = 0;
    for (int impl = 0; impl < kMaxCandidates; ++impl) {
      if (!autotune && t.chosen >= 0) break;
      const Plan* plan = findPlan(keyFor(impl), s);
      if (plan == nullptr) break;
      execute(*plan, s, in1, in2, bias, out);
      const auto start = std::chrono::steady_clock::now();
      execute(*plan, s, in1, in2, bias, out);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      t.timings.emplace_back(plan->impl, seconds);
      if (t.chosen < 0 || seconds < best) {
        best = seconds;
        t.chosen = impl;
      }
    }
    if (t.chosen < 0) {
      *unsupported = true;
      return Status::success();
    }
    // The output must come from the chosen implementation only if the
    // candidates disagree in rounding; rerun it so results do not depend on
    // the order of tuning.
    if (t.chosen != static_cast<int>(t.timings.size()) - 1) execute(*findPlan(keyFor(t.chosen), s), s, in1, in2, bias, out);
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.tunings[{pass, shape}] = t;
  } catch (const dn::error& error) {
    return Status::error(Code::InvalidConfig, std::string("oneDNN convolution ") + passName(pass) + " failed: " + error.what());
  } catch (const std::bad_alloc&) {
    return Status::error(Code::InvalidConfig, std::string("out of memory in convolution ") + passName(pass));
  }
  return Status::success();
}

}  // namespace

Status validateConv2d(const Conv2dShape& s) {
  const int all[] = {s.batch, s.inHeight, s.inWidth, s.inChannels, s.outHeight, s.outWidth, s.outChannels,
                     s.filterHeight, s.filterWidth, s.strideHeight, s.strideWidth, s.dilationHeight, s.dilationWidth};
  for (int v : all)
    if (v <= 0) return Status::error(Code::InvalidConfig, "convolution sizes, strides and dilations must be positive");
  if (s.padTop < 0 || s.padLeft < 0 || s.padBottom < 0 || s.padRight < 0)
    return Status::error(Code::InvalidConfig, "convolution padding must not be negative");
  const long effH = static_cast<long>(s.filterHeight - 1) * s.dilationHeight + 1;
  const long effW = static_cast<long>(s.filterWidth - 1) * s.dilationWidth + 1;
  const long outH = (static_cast<long>(s.inHeight) + s.padTop + s.padBottom - effH) / s.strideHeight + 1;
  const long outW = (static_cast<long>(s.inWidth) + s.padLeft + s.padRight - effW) / s.strideWidth + 1;
  if (outH != s.outHeight || outW != s.outWidth)
    return Status::error(Code::InvalidConfig, "convolution output size does not follow from input, filter, stride and padding");
  return Status::success();
}

Status conv2dForward(const Conv2dShape& s, const float* x, const float* filter, const float* bias, Activation activation,
                     float alpha, float* y, bool* unsupported) {
  return run(Pass::Forward, s, x, filter, bias, activation, alpha, y, unsupported);
}

Status conv2dBackwardData(const Conv2dShape& s, const float* dy, const float* filter, float* dx, bool* unsupported) {
  return run(Pass::BackwardData, s, dy, filter, nullptr, Activation::Linear, 0.f, dx, unsupported);
}

Status conv2dBackwardFilter(const Conv2dShape& s, const float* x, const float* dy, float* dfilter, bool* unsupported) {
  return run(Pass::BackwardFilter, s, x, dy, nullptr, Activation::Linear, 0.f, dfilter, unsupported);
}

std::string convReport() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::ostringstream out;
  for (const auto& [key, t] : r.tunings) {
    const auto& sh = key.second;
    out << passName(key.first) << " n" << std::get<0>(sh) << " " << std::get<1>(sh) << "x" << std::get<2>(sh) << "x"
        << std::get<3>(sh) << "->" << std::get<6>(sh) << ":";
    for (size_t i = 0; i < t.timings.size(); ++i)
      out << (i ? "," : "") << " " << t.timings[i].first << " " << t.timings[i].second * 1e3 << " ms"
          << (static_cast<int>(i) == t.chosen ? " (chosen)" : "");
    out << "\n";
  }
  return out.str();
}

}  // namespace emo::nn
