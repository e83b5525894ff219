// N-API adapter of HistoryStore: new History(points, maxBytes), add(carbon,
// timestamp), find(pattern, limit, timeoutMs), findNodes(pattern, limit, timeoutMs), fetch(name, from, until), stats().
#include "binding_history.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "history.h"

namespace statsd {
namespace {

class JsHistory : public Napi::ObjectWrap<JsHistory> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "History",
                       {InstanceMethod<&JsHistory::Add>("add"), InstanceMethod<&JsHistory::Find>("find"),
                        InstanceMethod<&JsHistory::FindNodes>("findNodes"),
                        InstanceMethod<&JsHistory::Fetch>("fetch"), InstanceMethod<&JsHistory::Stats>("stats")});
  }

  // new History(points: number, maxBytes: number) — checked by the TS side.
  explicit JsHistory(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<JsHistory>(info),
        store_(info[0].As<Napi::Number>().Uint32Value(), static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue())) {}

 private:
  // add(carbon: Uint8Array, timestamp: number): void
  Napi::Value Add(const Napi::CallbackInfo& info) {
    auto carbon = info[0].As<Napi::Uint8Array>();
    store_.AddFlush(reinterpret_cast<const char*>(carbon.Data()), carbon.ByteLength(),
                    static_cast<int64_t>(info[1].As<Napi::Number>().DoubleValue()));
    return info.Env().Undefined();
  }

  // The pattern of a find: compiled, or a JS error naming the bound it is past.
  static bool CompilePattern(Napi::Env env, const Napi::Value& value, PathPattern* pattern) {
    std::string error;
    if (pattern->Compile(value.As<Napi::String>().Utf8Value(), &error)) return true;
    Napi::Error::New(env, "bad pattern: " + error).ThrowAsJavaScriptException();
    return false;
  }

  static HistoryStore::Deadline DeadlineIn(const Napi::Value& ms) {
    const double after = std::min(ms.As<Napi::Number>().DoubleValue(), 86'400'000.0);
    return HistoryStore::Clock::now() + std::chrono::microseconds(static_cast<int64_t>(std::max(0.0, after) * 1000));
  }

  static const char* ScanName(HistoryStore::Scan scan) {
    return scan == HistoryStore::Scan::kComplete ? "complete" : scan == HistoryStore::Scan::kLimited ? "limited" : "timeout";
  }

  // find(pattern: string, limit: number, timeoutMs: number): { names: string[], scan }
  Napi::Value Find(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    PathPattern pattern;
    if (!CompilePattern(env, info[0], &pattern)) return env.Undefined();
    const size_t limit = static_cast<size_t>(info[1].As<Napi::Number>().DoubleValue());
    Napi::Array names = Napi::Array::New(env);
    uint32_t n = 0;
    const HistoryStore::Scan scan = store_.Find(pattern, limit, DeadlineIn(info[2]), [&](std::string_view name) {
      names.Set(n++, Napi::String::New(env, name.data(), name.size()));
    });
    Napi::Object result = Napi::Object::New(env);
    result.Set("names", names);
    result.Set("scan", ScanName(scan));
    return result;
  }

  // findNodes(pattern: string, limit: number, timeoutMs: number): { paths: string[], flags: Uint8Array, scan }
  Napi::Value FindNodes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    PathPattern pattern;
    if (!CompilePattern(env, info[0], &pattern)) return env.Undefined();
    const size_t limit = static_cast<size_t>(info[1].As<Napi::Number>().DoubleValue());
    Napi::Array paths = Napi::Array::New(env);
    std::vector<uint8_t> flags;
    const HistoryStore::Scan scan = store_.FindNodes(pattern, limit, DeadlineIn(info[2]), [&](std::string_view path, uint8_t f) {
      paths.Set(static_cast<uint32_t>(flags.size()), Napi::String::New(env, path.data(), path.size()));
      flags.push_back(f);
    });
    auto flag_array = Napi::Uint8Array::New(env, flags.size());
    std::copy(flags.begin(), flags.end(), flag_array.Data());
    Napi::Object result = Napi::Object::New(env);
    result.Set("paths", paths);
    result.Set("flags", flag_array);
    result.Set("scan", ScanName(scan));
    return result;
  }

  // fetch(name: string, from: number, until: number): { times: Float64Array, values: Float64Array, known: boolean }
  Napi::Value Fetch(const Napi::CallbackInfo& info) {
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    times_.clear();
    values_.clear();
    const bool known = store_.Fetch(name, static_cast<int64_t>(info[1].As<Napi::Number>().DoubleValue()),
                                    static_cast<int64_t>(info[2].As<Napi::Number>().DoubleValue()), &times_, &values_);
    Napi::Env env = info.Env();
    auto times = Napi::Float64Array::New(env, times_.size());
    auto values = Napi::Float64Array::New(env, values_.size());
    for (size_t i = 0; i < times_.size(); ++i) times[i] = static_cast<double>(times_[i]);
    std::copy(values_.begin(), values_.end(), values.Data());
    Napi::Object result = Napi::Object::New(env);
    result.Set("times", times);
    result.Set("values", values);
    result.Set("known", Napi::Boolean::New(env, known));
    return result;
  }

  // stats(): { series, bytes, maxBytes, points, flushes, datapoints, seriesRefused, seriesExpired, linesSkipped }
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const HistoryStats& s = store_.stats();
    Napi::Object out = Napi::Object::New(env);
    out.Set("series", static_cast<double>(store_.series()));
    out.Set("bytes", static_cast<double>(store_.bytes()));
    out.Set("maxBytes", static_cast<double>(store_.max_bytes()));
    out.Set("points", static_cast<double>(store_.points()));
    out.Set("flushes", static_cast<double>(s.flushes));
    out.Set("datapoints", static_cast<double>(s.points));
    out.Set("seriesRefused", static_cast<double>(s.series_refused));
    out.Set("seriesExpired", static_cast<double>(s.series_expired));
    out.Set("linesSkipped", static_cast<double>(s.lines_skipped));
    return out;
  }

  HistoryStore store_;
  std::vector<int64_t> times_;  // Fetch's scratch
  std::vector<double> values_;
};

}  // namespace

Napi::Function DefineHistory(Napi::Env env) { return JsHistory::Define(env); }

}  // namespace statsd
