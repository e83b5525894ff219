// N-API adapter of LineRouter: new Router(nodes, maxPacketBytes, etsy, sanitize),
// route(data, down), nodeOf(line), take(all), stats().
#include "binding_router.h"

#include <string>
#include <vector>

#include "router.h"

namespace statsd {
namespace {

class JsRouter : public Napi::ObjectWrap<JsRouter> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Router",
                       {InstanceMethod<&JsRouter::Route>("route"), InstanceMethod<&JsRouter::NodeOf>("nodeOf"),
                        InstanceMethod<&JsRouter::Take>("take"), InstanceMethod<&JsRouter::Stats>("stats")});
  }

  // new Router(nodes: number, maxPacketBytes: number, etsy: boolean, sanitize: boolean) — checked by the TS side.
  explicit JsRouter(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<JsRouter>(info),
        router_(info[0].As<Napi::Number>().Uint32Value(), info[1].As<Napi::Number>().Uint32Value(),
                info[2].ToBoolean().Value() ? Convention::kEtsy : Convention::kBrubeck, info[3].ToBoolean().Value()) {}

 private:
  // route(data: Uint8Array, down: Uint8Array): number — full packets waiting; down has one byte per node.
  Napi::Value Route(const Napi::CallbackInfo& info) {
    auto data = info[0].As<Napi::Uint8Array>();
    auto down = info[1].As<Napi::Uint8Array>();
    if (down.ByteLength() < router_.nodes()) {
      Napi::TypeError::New(info.Env(), "route: down must have one byte per node").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    const size_t ready = router_.Route(reinterpret_cast<const char*>(data.Data()), data.ByteLength(), down.Data());
    return Napi::Number::New(info.Env(), static_cast<double>(ready));
  }

  // nodeOf(line: string): number — the node of a line's key with every node up; -1 for a bad line.
  Napi::Value NodeOf(const Napi::CallbackInfo& info) {
    const std::string line = info[0].As<Napi::String>().Utf8Value();
    const uint32_t node = router_.NodeOf(line);
    return Napi::Number::New(info.Env(), node == UINT32_MAX ? -1.0 : static_cast<double>(node));
  }

  // take(all: boolean): { bytes: Buffer, ends: Uint32Array, counts: Uint32Array }
  Napi::Value Take(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    bytes_.clear();
    ends_.clear();
    counts_.clear();
    router_.Take(info[0].As<Napi::Boolean>().Value(), &bytes_, &ends_, &counts_);
    auto ends = Napi::Uint32Array::New(env, ends_.size());
    std::copy(ends_.begin(), ends_.end(), ends.Data());
    auto counts = Napi::Uint32Array::New(env, counts_.size());
    std::copy(counts_.begin(), counts_.end(), counts.Data());
    Napi::Object out = Napi::Object::New(env);
    out.Set("bytes", Napi::Buffer<char>::Copy(env, bytes_.data(), bytes_.size()));
    out.Set("ends", ends);
    out.Set("counts", counts);
    return out;
  }

  // stats(): { lines, moved, unroutable, oversize, errors, byReason: Float64Array, perNode: Float64Array }
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const RouterStats& s = router_.stats();
    Napi::Object out = Napi::Object::New(env);
    out.Set("lines", static_cast<double>(s.lines));
    out.Set("moved", static_cast<double>(s.moved));
    out.Set("unroutable", static_cast<double>(s.unroutable));
    out.Set("oversize", static_cast<double>(s.oversize));
    out.Set("errors", static_cast<double>(s.errors));
    auto by_reason = Napi::Float64Array::New(env, kParseStatusCount);
    for (int i = 0; i < kParseStatusCount; ++i) by_reason[i] = static_cast<double>(s.by_reason[i]);
    out.Set("byReason", by_reason);
    const std::vector<uint64_t>& per_node = router_.lines_per_node();
    auto nodes = Napi::Float64Array::New(env, per_node.size());
    for (size_t i = 0; i < per_node.size(); ++i) nodes[i] = static_cast<double>(per_node[i]);
    out.Set("perNode", nodes);
    return out;
  }

  LineRouter router_;
  std::string bytes_;
  std::vector<uint32_t> ends_, counts_;
};

}  // namespace

Napi::Function DefineRouter(Napi::Env env) { return JsRouter::Define(env); }

}  // namespace statsd
