// Memory formats of the intermediate tensors, chosen once every device layer has its tactic: a
// tensor is stored channels last (TensorFormat::kHWC) when its producer's tactic can write it so
// and every consumer's tactic can read it so (Tactic::channelsLast). Between tensor-core
// convolutions that turns the gather of a reduction run into contiguous 16-byte loads (NCHW puts
// consecutive channels H*W elements apart). No reformat is inserted here: a tensor whose
// neighbours do not all take kHWC stays kLINEAR, and so does network I/O unless its
// allowed_formats ask for HWC (then assignPrecisions has put a REFORMAT beside it, which
// dropIdentityIoReformats takes away where the neighbour reads or writes it as it is).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "clrt/builder/internal.h"

namespace clrt::builder::detail {

namespace {

// Channels-last intermediate tensors on GPUs, where they turn the tensor-core convolutions'
// gathers into 16-byte copies; on CPUs every tensor stays kLINEAR, which their direct,
// depthwise, pooling and elementwise kernels read without index arithmetic (PoCL, 2 cores:
// models/fmnist_dwse.onnx at batch 256 44 ms all NCHW against 56-96 ms with the tensors
// channels last where producer and readers could take it). CLRT_CHANNELS_LAST=0 keeps every
// tensor kLINEAR on any device, =1 chooses channels last on CPUs too (to compare, and for the
// channels-last kernels' tests on PoCL).
bool enabled(bool gpu) {
  const char* v = std::getenv("CLRT_CHANNELS_LAST");
  if (v == nullptr || *v == '\0') return gpu;
  return std::strcmp(v, "0") != 0;
}

void setBit(ir::Layer& l, const char* attr, size_t i) {
  l.attrs.set(attr, static_cast<int64_t>(l.attrs.i(attr, 0) | (int64_t{1} << i)));
}

// Whether tensor t may be stored channels last at all, whatever its neighbours' tactics.
bool mayBeChannelsLast(const ir::Network& net, const std::vector<uint8_t>& on_host, int t) {
  if (t < 0) return false;
  const ir::Tensor& x = net.tensors[t];
  return x.producer >= 0 && !on_host[x.producer] && !x.is_input && !x.is_output && !x.debug &&
         !x.is_shape_tensor && (x.dims.size() == 3 || x.dims.size() == 4);
}

// Whether l is an elementwise layer with an operand broadcast over more than the images and
// channels (ViT's position embedding [1, 197, 768] added to [64, 197, 768], a bias over the last
// dim): with every tensor LINEAR it reads that operand as element i % count; with any of them
// channels last, only through the general broadcast index (H100: 0.105 ms for that add, 8x its
// bytes' time). A per-image-and-channel gate ([N, C, 1, 1] at the output's rank, a
// squeeze-and-excitation multiply) and a scalar are read alike in both layouts.
bool repeatsOperand(const ir::Network& net, const ir::Layer& l) {
  if (l.kind != ir::LayerKind::kELEMENTWISE || l.outputs.empty() || l.outputs[0] < 0) return false;
  const auto& y = net.tensors[l.outputs[0]].dims;
  for (int in : l.inputs) {
    if (in < 0) continue;
    const auto& d = net.tensors[in].dims;
    const bool gate = d.size() == y.size() && d.size() >= 3 &&
                      std::all_of(d.begin() + 2, d.end(), [](int64_t v) { return v == 1; });
    const bool scalar = std::all_of(d.begin(), d.end(), [](int64_t v) { return v == 1; });
    if (d != y && !gate && !scalar) return true;
  }
  return false;
}

// The index of tensor t among layer l's outputs.
int outputIndex(const ir::Layer& l, size_t t) {
  return static_cast<int>(std::find(l.outputs.begin(), l.outputs.end(), static_cast<int>(t)) -
                          l.outputs.begin());
}

}  // namespace

int chooseLayouts(ir::Network& net, const std::vector<uint8_t>& on_host,
                  const std::vector<std::string>& tacticNames, bool gpu, ILogger* logger) {
  for (auto& l : net.layers) {  // a choice made again (guardFp16) starts from scratch
    l.attrs.erase("hwc_inputs");
    l.attrs.erase("hwc_outputs");
  }
  for (auto& t : net.tensors) t.format = ir::TensorFormat::kLINEAR;
  const size_t nl = net.layers.size();
  std::vector<const tactics::Tactic*> tac(nl, nullptr);
  for (size_t li = 0; li < nl; ++li)
    if (!on_host[li] && !tacticNames[li].empty()) tac[li] = tactics::findTactic(tacticNames[li]);
  const std::vector<std::vector<int>> users = net.consumers();
  // Network I/O asked to be channels last (allowed_formats): the REFORMAT that reads or writes
  // it (assignPrecisions) takes it so, whatever CLRT_CHANNELS_LAST says.
  int chosen = 0;
  for (size_t t = 0; t < net.tensors.size(); ++t) {
    ir::Tensor& x = net.tensors[t];
    if (!ir::requestsHwc(x)) continue;
    auto check = [&](int li, int slot) {
      const tactics::Tactic* tc = li >= 0 ? tac[li] : nullptr;
      CLRT_CHECK(tc && tc->channelsLast(net.layers[li], slot), kBuild, "network ",
                 x.is_input ? "input" : "output", " '", x.name,
                 "' allows only channels-last formats, but ",
                 li >= 0 ? "layer '" + net.layers[li].name + "'" : std::string("no device layer"),
                 " cannot ", slot >= 0 ? "read" : "write", " it so");
    };
    if (x.is_input) {
      for (int li : users[t])
        for (size_t i = 0; i < net.layers[li].inputs.size(); ++i)
          if (net.layers[li].inputs[i] == static_cast<int>(t)) {
            check(li, static_cast<int>(i));
            setBit(net.layers[li], "hwc_inputs", i);
          }
    }
    if (x.producer >= 0) {
      const int o = outputIndex(net.layers[x.producer], t);
      check(x.producer, -1 - o);
      setBit(net.layers[x.producer], "hwc_outputs", static_cast<size_t>(o));
    }
    x.format = ir::TensorFormat::kHWC;
    ++chosen;
  }
  if (!enabled(gpu)) return chosen;
  for (size_t t = 0; t < net.tensors.size(); ++t) {
    ir::Tensor& x = net.tensors[t];
    std::vector<std::pair<size_t, size_t>> readers;  // (layer, input index) reading t
    for (int li : users[t])
      for (size_t i = 0; i < net.layers[li].inputs.size(); ++i)
        if (net.layers[li].inputs[i] == static_cast<int>(t))
          readers.push_back({static_cast<size_t>(li), i});
    const int p = x.producer;
    if (!mayBeChannelsLast(net, on_host, static_cast<int>(t)) || !tac[p] || readers.empty())
      continue;
    const int o = outputIndex(net.layers[p], t);
    bool ok = tac[p]->channelsLast(net.layers[p], -1 - o) && !repeatsOperand(net, net.layers[p]);
    for (const auto& [li, i] : readers)
      ok = ok && tac[li] && tac[li]->channelsLast(net.layers[li], static_cast<int>(i)) &&
           !repeatsOperand(net, net.layers[li]);
    if (!ok) continue;
    x.format = ir::TensorFormat::kHWC;
    setBit(net.layers[p], "hwc_outputs", static_cast<size_t>(o));
    for (const auto& [li, i] : readers) setBit(net.layers[li], "hwc_inputs", i);
    ++chosen;
  }
  if (chosen)
    logf(logger, Severity::kVERBOSE, "layouts: ", chosen,
         " tensors stored channels last (HWC) between layers whose tactics read and write it");
  return chosen;
}

int dropIdentityIoReformats(ir::Network& net, std::vector<uint8_t>& on_host,
                            std::vector<std::string>& tactics) {
  int dropped = 0;
  for (size_t li = 0; li < net.layers.size(); ++li) {
    ir::Layer& r = net.layers[li];
    if (r.dead || on_host[li] || r.kind != ir::LayerKind::kREFORMAT || r.inputs.size() != 1 ||
        r.outputs.size() != 1 || r.inputs[0] < 0)
      continue;
    const std::string why = r.attrs.s("reason");
    const int a = r.inputs[0], b = r.outputs[0];
    const ir::Tensor &x = net.tensors[a], &y = net.tensors[b];
    if ((why != "channels-last input" && why != "channels-last output") || x.dtype != y.dtype ||
        x.format != ir::TensorFormat::kHWC || y.format != ir::TensorFormat::kHWC)
      continue;
    // The tensor that stays (the network's) and the one that goes.
    const bool input = why == "channels-last input";
    const int keep = input ? a : b, gone = input ? b : a;
    if (!input) {  // the producer writes the network output itself
      const int p = x.producer;
      if (p < 0) continue;
      for (int& o : net.layers[p].outputs)
        if (o == gone) o = keep;
      net.tensors[keep].producer = p;
    }
    for (size_t lj = 0; lj < net.layers.size(); ++lj)
      if (lj != li && !net.layers[lj].dead)
        for (int& in : net.layers[lj].inputs)
          if (in == gone) in = keep;
    r.dead = true;
    ++dropped;
  }
  if (!dropped) return 0;
  std::vector<uint8_t> host;
  std::vector<std::string> names;
  for (size_t li = 0; li < net.layers.size(); ++li)
    if (!net.layers[li].dead) {
      host.push_back(on_host[li]);
      names.push_back(tactics[li]);
    }
  net.compact();
  on_host = std::move(host);
  tactics = std::move(names);
  return dropped;
}

std::optional<ir::Layer> timedLayout(const ir::Network& net, const std::vector<uint8_t>& on_host,
                                     const ir::Layer& l, const tactics::Tactic& tac, bool gpu) {
  if (!enabled(gpu)) return std::nullopt;
  int64_t in = 0, out = 0;
  for (size_t i = 0; i < l.inputs.size(); ++i)
    if (mayBeChannelsLast(net, on_host, l.inputs[i]) && tac.channelsLast(l, static_cast<int>(i)))
      in |= int64_t{1} << i;
  for (size_t o = 0; o < l.outputs.size(); ++o)
    if (mayBeChannelsLast(net, on_host, l.outputs[o]) &&
        tac.channelsLast(l, -1 - static_cast<int>(o)))
      out |= int64_t{1} << o;
  if (in == 0 && out == 0 && !l.attrs.has("hwc_inputs") && !l.attrs.has("hwc_outputs"))
    return std::nullopt;
  ir::Layer t = l;  // weights included: only where some tensor would be channels last
  t.attrs.erase("hwc_inputs");
  t.attrs.erase("hwc_outputs");
  if (in) t.attrs.set("hwc_inputs", in);
  if (out) t.attrs.set("hwc_outputs", out);
  return t;
}

}  // namespace clrt::builder::detail
