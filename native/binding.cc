// The N-API boundary: converts arguments, calls the plain C++ core, exports.
// Over 300 lines: one thin adapter per native class or function, each a few
// lines per method; arrays shared with TypeScript are written by the named
// slots of layout.h, whose names binding_layout.cc exports.
#include <napi.h>

#include <algorithm>
#include <string>
#include <vector>

#include "aggregator.h"
#include "binding_history.h"
#include "binding_router.h"
#include "binding_layout.h"
#include "codec.h"
#include "layout.h"
#include "records.h"
#include "serializer.h"
#include "udp_receiver.h"
#include "unix_socket.h"

namespace {

using statsd::Dialect;
using statsd::LineParser;
using statsd::ParseOptions;

// JS calls happen on the main thread only, so one parser and scratch string
// serve every call without allocating.
LineParser& SharedParser() {
  static LineParser parser;
  return parser;
}

std::string& StringScratch() {
  static std::string scratch;
  return scratch;
}

bool ThrowTypeError(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return false;
}

// parse(input: Uint8Array, start: number, records: Float64Array, info: Uint32Array,
//       dialect: number, maxLineBytes: number): void
// Walks input[start..] and appends records from info[INFO_RECORDS] on; stops at a
// line whose samples do not fit and leaves the offset in info[INFO_RESUME].
Napi::Value JsParse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 6 || !info[0].IsTypedArray() || !info[2].IsTypedArray() ||
      !info[3].IsTypedArray()) {
    ThrowTypeError(env, "parse(input, start, records, info, dialect, maxLineBytes)");
    return env.Undefined();
  }
  auto input = info[0].As<Napi::Uint8Array>();
  auto records = info[2].As<Napi::Float64Array>();
  auto summary = info[3].As<Napi::Uint32Array>();
  if (summary.ElementLength() < statsd::kInfoSize) {
    ThrowTypeError(env, "info array too small");
    return env.Undefined();
  }
  const size_t start = info[1].As<Napi::Number>().Uint32Value();
  ParseOptions options;
  options.dialect = static_cast<Dialect>(info[4].As<Napi::Number>().Uint32Value());
  options.max_line_bytes = info[5].As<Napi::Number>().Uint32Value();

  LineParser& parser = SharedParser();
  parser.set_options(options);
  const char* base = reinterpret_cast<const char*>(input.Data());
  const size_t size = input.ByteLength();
  uint32_t* out = summary.Data();
  if (start > size) {
    out[statsd::kInfoResume] = static_cast<uint32_t>(size);
    return env.Undefined();
  }
  statsd::RecordSink sink(base, records.Data(), records.ElementLength() / statsd::kRecordDoubles,
                          out);
  const size_t stopped = statsd::WalkPacket(parser, base + start, size - start, sink);
  out[statsd::kInfoResume] = static_cast<uint32_t>(start + stopped);
  return env.Undefined();
}

// pack(strings: string, columns: Float64Array, count: number, maxPacketBytes: number,
//      flags: number, ends: Uint32Array, result: Uint32Array): Buffer
// flags: kPack* (layout.h). Returns all packets back to back; ends[i] is the
// end of packet i. result: by PackResult (layout.h).
Napi::Value JsPack(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 7 || !info[0].IsString() || !info[1].IsTypedArray() ||
      !info[5].IsTypedArray() || !info[6].IsTypedArray()) {
    ThrowTypeError(env, "pack(strings, columns, count, maxPacketBytes, flags, ends, result)");
    return env.Undefined();
  }
  auto columns = info[1].As<Napi::Float64Array>();
  const size_t count = info[2].As<Napi::Number>().Uint32Value();
  const size_t max_packet = info[3].As<Napi::Number>().Uint32Value();
  const uint32_t flags = info[4].As<Napi::Number>().Uint32Value();
  auto ends = info[5].As<Napi::Uint32Array>();
  auto result = info[6].As<Napi::Uint32Array>();
  if (columns.ElementLength() < count * statsd::kBatchStride || ends.ElementLength() < count + 1 ||
      result.ElementLength() < statsd::kPackResultCount) {
    ThrowTypeError(env, "pack: arrays too small for count");
    return env.Undefined();
  }

  std::string& strings = StringScratch();
  size_t length = 0;
  napi_get_value_string_utf8(env, info[0], nullptr, 0, &length);
  strings.resize(length + 1);
  napi_get_value_string_utf8(env, info[0], strings.data(), length + 1, &length);
  strings.resize(length);

  statsd::Packer packer(max_packet, flags & statsd::kPackTrailingNewline);
  statsd::BatchResult batch =
      statsd::PackBatch(strings, columns.Data(), count, flags & statsd::kPackSanitize, &packer);
  packer.Finish();

  uint32_t* r = result.Data();
  r[statsd::kPackPackets] = static_cast<uint32_t>(packer.ends().size());
  r[statsd::kPackDropped] = static_cast<uint32_t>(packer.dropped());
  r[statsd::kPackStatus] = static_cast<uint32_t>(batch.status);
  r[statsd::kPackMismatch] = batch.strings_mismatch ? 1 : 0;
  r[statsd::kPackFailedIndex] = static_cast<uint32_t>(batch.failed_index);
  std::copy(packer.ends().begin(), packer.ends().end(), ends.Data());
  return Napi::Buffer<char>::Copy(env, packer.bytes().data(), packer.bytes().size());
}

// Reads a fully defaulted options object (src/aggregator/aggregator.ts toNativeOptions).
double NumberField(const Napi::Object& o, const char* name) {
  return o.Get(name).As<Napi::Number>().DoubleValue();
}
bool BoolField(const Napi::Object& o, const char* name) {
  return o.Get(name).As<Napi::Boolean>().Value();
}
std::string StringField(const Napi::Object& o, const char* name) {
  return o.Get(name).As<Napi::String>().Utf8Value();
}
std::vector<statsd::Percentile> PercentilesField(const Napi::Object& o, const char* name) {
  std::vector<statsd::Percentile> out;
  auto list = o.Get(name).As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    auto item = list.Get(i).As<Napi::Object>();
    out.push_back({NumberField(item, "value"), StringField(item, "name")});
  }
  return out;
}

statsd::AggregatorOptions ReadAggregatorOptions(const Napi::Object& o) {
  statsd::AggregatorOptions a;
  a.convention = static_cast<statsd::Convention>(NumberField(o, "convention"));
  a.parse.dialect = static_cast<Dialect>(NumberField(o, "dialect"));
  a.parse.max_line_bytes = static_cast<uint32_t>(NumberField(o, "maxLineBytes"));
  a.flush_interval_ms = NumberField(o, "flushInterval");
  a.max_samples_per_key = static_cast<uint32_t>(NumberField(o, "maxSamplesPerKey"));
  a.max_keys = static_cast<uint32_t>(NumberField(o, "maxKeys"));
  a.max_key_bytes = static_cast<uint64_t>(NumberField(o, "maxKeyBytes"));
  a.max_set_members = static_cast<uint32_t>(NumberField(o, "maxSetMembers"));
  a.max_interval_samples = static_cast<uint64_t>(NumberField(o, "maxIntervalSamples"));
  a.max_interval_members = static_cast<uint64_t>(NumberField(o, "maxIntervalMembers"));
  a.expire = NumberField(o, "expire");
  a.report_idle = BoolField(o, "reportIdle");
  a.seed = static_cast<uint64_t>(NumberField(o, "seed"));
  a.member_seed = static_cast<uint64_t>(NumberField(o, "memberSeed"));
  a.shards = static_cast<uint32_t>(NumberField(o, "shards"));
  a.percentiles = PercentilesField(o, "percentiles");
  a.server_name = StringField(o, "serverName");
  a.percent_threshold = PercentilesField(o, "percentThreshold");
  auto bins = o.Get("histogram").As<Napi::Array>();
  for (uint32_t i = 0; i < bins.Length(); ++i) {
    auto item = bins.Get(i).As<Napi::Object>();
    statsd::HistogramBins b;
    b.metric = StringField(item, "metric");
    auto bounds = item.Get("bounds").As<Napi::Array>();
    auto names = item.Get("names").As<Napi::Array>();
    for (uint32_t j = 0; j < bounds.Length(); ++j) {
      b.bounds.push_back(bounds.Get(j).As<Napi::Number>().DoubleValue());
      b.names.push_back(names.Get(j).As<Napi::String>().Utf8Value());
    }
    a.histogram.push_back(std::move(b));
  }
  if (o.Has("calculatedTimerMetrics")) {
    auto fields = o.Get("calculatedTimerMetrics").As<Napi::Array>();
    a.filter_timer_fields = true;
    for (uint32_t i = 0; i < fields.Length(); ++i) a.timer_fields.push_back(fields.Get(i).As<Napi::String>().Utf8Value());
  }
  a.legacy_namespace = BoolField(o, "legacyNamespace");
  a.flush_counts = BoolField(o, "flushCounts");
  a.key_name_sanitize = BoolField(o, "keyNameSanitize");
  a.global_prefix = StringField(o, "globalPrefix");
  a.prefix_counter = StringField(o, "prefixCounter");
  a.prefix_timer = StringField(o, "prefixTimer");
  a.prefix_gauge = StringField(o, "prefixGauge");
  a.prefix_set = StringField(o, "prefixSet");
  a.global_suffix = StringField(o, "globalSuffix");
  a.prefix_stats = StringField(o, "prefixStats");
  a.delete_counters = BoolField(o, "deleteCounters");
  a.delete_timers = BoolField(o, "deleteTimers");
  a.delete_sets = BoolField(o, "deleteSets");
  a.delete_gauges = BoolField(o, "deleteGauges");
  a.gauges_max_ttl = static_cast<uint32_t>(NumberField(o, "gaugesMaxTTL"));
  return a;
}

// The native half of src/aggregator/aggregator.ts. Results of ingest/flush land
// in a Float64Array the TS side hands over once (no object per call), by
// AggregatorResult (layout.h): the last ingest's lines and errors, the last
// flush's datapoints.
// A flush on a libuv worker thread: the aggregator's lock is taken there, so
// the JS thread (HTTP /ping, TCP input) goes on while a large flush computes
// percentiles and formats lines. Resolves with { carbon: Buffer, metrics }.
class FlushWorker : public Napi::AsyncWorker {
 public:
  FlushWorker(Napi::Env env, std::shared_ptr<statsd::SharedAggregator> shared, int64_t timestamp, statsd::GraphiteFormat format)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        shared_(std::move(shared)),
        timestamp_(timestamp),
        writer_(format) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    statsd::AggregatorLock lock(*shared_, /*settle=*/true);
    // A fresh writer per flush (its bytes go to JS without a copy): it starts
    // with the room the last one needed. Growing 600 MB by doubling instead
    // made a 1M-timer flush on this thread take twice the synchronous one.
    writer_.Reserve(shared_->last_flush_bytes + shared_->last_flush_bytes / 8);
    shared_->aggregator.Flush(timestamp_, &writer_);
    shared_->last_flush_bytes = writer_.bytes().size();
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object result = Napi::Object::New(env);
    // The bytes are handed to JS as they are, not copied: a 1M-timer flush is
    // ~600 MB of carbon lines, and copying them here, on the JS thread, held
    // /ping for ~1 s (bench: flush-pause, group ping; see docs/benchmarks.md).
    // Only when the bytes fill most of their allocation: a small flush after a
    // large one sits in the room reserved for it (see Execute), and a sink
    // that keeps it would keep that whole allocation (sinks bound their
    // backlog by bytes written). Such a flush is copied, which costs little.
    auto* bytes = new std::string(writer_.TakeBytes());
    if (bytes->capacity() > 2 * bytes->size() + (64 << 10)) {
      result.Set("carbon", Napi::Buffer<char>::Copy(env, bytes->data(), bytes->size()));
      delete bytes;
    } else if (bytes->empty()) {
      delete bytes;
      result.Set("carbon", Napi::Buffer<char>::New(env, 0));
    } else {
      result.Set("carbon", Napi::Buffer<char>::New(env, bytes->data(), bytes->size(),
                                                   [](Napi::Env, char*, std::string* owned) { delete owned; }, bytes));
    }
    result.Set("metrics", Napi::Number::New(env, static_cast<double>(writer_.metrics())));
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<statsd::SharedAggregator> shared_;
  int64_t timestamp_;
  statsd::GraphiteWriter writer_;
};

class JsAggregator : public Napi::ObjectWrap<JsAggregator> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeAggregator",
                       {InstanceMethod<&JsAggregator::Ingest>("ingest"),
                        InstanceMethod<&JsAggregator::Flush>("flush"),
                        InstanceMethod<&JsAggregator::FlushAsync>("flushAsync"),
                        InstanceMethod<&JsAggregator::Stats>("stats"),
                        InstanceMethod<&JsAggregator::Snapshot>("snapshot")});
  }

  // new NativeAggregator(options: object, results: Float64Array)
  explicit JsAggregator(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JsAggregator>(info) {
    if (info.Length() != 2 || !info[0].IsObject() || !info[1].IsTypedArray() ||
        info[1].As<Napi::Float64Array>().ElementLength() < statsd::kAggregatorResultCount) {
      ThrowTypeError(info.Env(), "NativeAggregator(options, results: Float64Array(layout.aggregatorResults.length))");
      return;
    }
    shared_ = std::make_shared<statsd::SharedAggregator>(ReadAggregatorOptions(info[0].As<Napi::Object>()));
    if (info.Env().IsExceptionPending()) return;
    results_ref_ = Napi::Persistent(info[1].As<Napi::Float64Array>());
    results_ = results_ref_.Value().Data();
    plaintext_ = std::make_unique<statsd::GraphiteWriter>(statsd::GraphiteFormat::kPlaintext);
    pickle_ = std::make_unique<statsd::GraphiteWriter>(statsd::GraphiteFormat::kPickle);
    statsd_ = std::make_unique<statsd::GraphiteWriter>(statsd::GraphiteFormat::kStatsd);
  }

  std::shared_ptr<statsd::SharedAggregator> shared() const { return shared_; }

 private:
  // ingest(input: Uint8Array): void — lines and errors into results.
  Napi::Value Ingest(const Napi::CallbackInfo& info) {
    if (!info[0].IsTypedArray()) {
      ThrowTypeError(info.Env(), "ingest(input: Uint8Array)");
      return info.Env().Undefined();
    }
    auto input = info[0].As<Napi::Uint8Array>();
    statsd::AggregatorLock lock(*shared_, /*settle=*/false);
    statsd::IngestResult r =
        shared_->aggregator.Ingest(reinterpret_cast<const char*>(input.Data()), input.ByteLength());
    results_[statsd::kResultIngestLines] = r.lines;
    results_[statsd::kResultIngestErrors] = r.errors;
    return info.Env().Undefined();
  }

  // flush(timestamp: number, format: 0 | 1 | 2): Buffer — carbon bytes
  // (0 plaintext, 1 pickle messages) or statsd lines for a daemon upstream
  // (2); the number of datapoints (lines) into results.
  Napi::Value Flush(const Napi::CallbackInfo& info) {
    const auto timestamp = static_cast<int64_t>(info[0].As<Napi::Number>().DoubleValue());
    const statsd::GraphiteFormat format = FormatArg(info[1]);
    statsd::GraphiteWriter* writer = format == statsd::GraphiteFormat::kPickle   ? pickle_.get()
                                     : format == statsd::GraphiteFormat::kStatsd ? statsd_.get()
                                                                                 : plaintext_.get();
    {
      statsd::AggregatorLock lock(*shared_, /*settle=*/true);
      shared_->aggregator.Flush(timestamp, writer);
      shared_->last_flush_bytes = writer->bytes().size();
    }
    results_[statsd::kResultFlushMetrics] = static_cast<double>(writer->metrics());
    const std::string& bytes = writer->bytes();
    return Napi::Buffer<char>::Copy(info.Env(), bytes.data(), bytes.size());
  }

  // flushAsync(timestamp: number, format: 0 | 1 | 2): Promise<{ carbon, metrics }>
  // — the same flush as flush(), on a worker thread (FlushWorker).
  Napi::Value FlushAsync(const Napi::CallbackInfo& info) {
    const auto timestamp = static_cast<int64_t>(info[0].As<Napi::Number>().DoubleValue());
    auto* worker = new FlushWorker(info.Env(), shared_, timestamp, FormatArg(info[1]));
    Napi::Promise promise = worker->Promise();
    worker->Queue();  // libuv owns it from here and deletes it after OnOK/OnError
    return promise;
  }

  // stats(out: Float64Array): void — by AggregatorStat (layout.h). While a
  // flush holds the aggregator (flushAsync on a worker), the totals of the
  // last read are given instead of waiting: /ping and /stats never stall on it.
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    if (!info[0].IsTypedArray() || info[0].As<Napi::Float64Array>().ElementLength() < statsd::kAggregatorStatCount) {
      Napi::RangeError::New(info.Env(), "stats needs a Float64Array(layout.aggregatorStats.length)")
          .ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    double* out = info[0].As<Napi::Float64Array>().Data();
    statsd::AggregatorLock lock(*shared_, std::try_to_lock);
    if (!lock.owns_lock()) {
      std::copy(last_stats_.begin(), last_stats_.end(), out);
      return info.Env().Undefined();
    }
    const statsd::AggregatorStats s = shared_->aggregator.stats();
    out[statsd::kStatPackets] = static_cast<double>(s.packets);
    out[statsd::kStatLines] = static_cast<double>(s.lines);
    out[statsd::kStatSamples] = static_cast<double>(s.samples);
    out[statsd::kStatErrors] = static_cast<double>(s.errors);
    out[statsd::kStatKeysDropped] = static_cast<double>(s.keys_dropped);
    out[statsd::kStatKeysExpired] = static_cast<double>(s.keys_expired);
    out[statsd::kStatFlushes] = static_cast<double>(s.flushes);
    out[statsd::kStatKeys] = static_cast<double>(shared_->aggregator.keys());
    for (int r = 0; r < statsd::kParseStatusCount; ++r) {
      out[statsd::kStatByReason + r] = static_cast<double>(s.by_reason[r]);
    }
    out[statsd::kStatMembersDropped] = static_cast<double>(s.members_dropped);
    out[statsd::kStatKeyBytes] = static_cast<double>(shared_->aggregator.key_bytes());
    out[statsd::kStatSamplesNotStored] = static_cast<double>(s.samples_not_stored);
    out[statsd::kStatNonfiniteDropped] = static_cast<double>(s.nonfinite_dropped);
    out[statsd::kStatNotForwarded] = static_cast<double>(s.not_forwarded);
    last_stats_.assign(out, out + statsd::kAggregatorStatCount);
    return info.Env().Undefined();
  }

  // snapshot(key?: string, samples = true): string — JSON of every key, or of
  // those stored as `key` (timers' samples left out when `samples` is false).
  Napi::Value Snapshot(const Napi::CallbackInfo& info) {
    std::string json;
    const bool one = info.Length() > 0 && !info[0].IsUndefined();
    if (one && !info[0].IsString()) {
      Napi::TypeError::New(info.Env(), "snapshot(key): key must be a string").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    const std::string key = one ? info[0].As<Napi::String>().Utf8Value() : std::string();
    {
      statsd::AggregatorLock lock(*shared_, /*settle=*/false);
      if (one) {
        shared_->aggregator.Describe(key, info.Length() < 2 || info[1].ToBoolean().Value(), &json);
      } else {
        shared_->aggregator.Snapshot(&json);
      }
    }
    return Napi::String::New(info.Env(), json);
  }

  std::shared_ptr<statsd::SharedAggregator> shared_;
  std::unique_ptr<statsd::GraphiteWriter> plaintext_;
  std::unique_ptr<statsd::GraphiteWriter> pickle_;
  std::unique_ptr<statsd::GraphiteWriter> statsd_;

  static statsd::GraphiteFormat FormatArg(const Napi::Value& v) {
    const double f = v.ToNumber().DoubleValue();
    return f == 1 ? statsd::GraphiteFormat::kPickle : f == 2 ? statsd::GraphiteFormat::kStatsd : statsd::GraphiteFormat::kPlaintext;
  }
  std::vector<double> last_stats_;  // the last stats() read (see Stats)
  Napi::Reference<Napi::Float64Array> results_ref_;
  double* results_ = nullptr;
};

// The native half of the unix datagram transport (src/net/transport.ts) and of the
// unix datagram input. Methods return 0 or an errno number; receive returns a
// Buffer, or a negative errno number (-EAGAIN: nothing waiting).
class JsUnixDatagram : public Napi::ObjectWrap<JsUnixDatagram> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UnixDatagram",
                       {InstanceMethod<&JsUnixDatagram::Connect>("connect"),
                        InstanceMethod<&JsUnixDatagram::Send>("send"),
                        InstanceMethod<&JsUnixDatagram::Bind>("bind"),
                        InstanceMethod<&JsUnixDatagram::Receive>("receive"),
                        InstanceMethod<&JsUnixDatagram::Close>("close")});
  }
  explicit JsUnixDatagram(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JsUnixDatagram>(info) {}

 private:
  Napi::Value Connect(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), socket_.Connect(info[0].As<Napi::String>().Utf8Value()));
  }
  // send(data: Uint8Array): number
  Napi::Value Send(const Napi::CallbackInfo& info) {
    auto data = info[0].As<Napi::Uint8Array>();
    return Napi::Number::New(
        info.Env(), socket_.Send(reinterpret_cast<const char*>(data.Data()), data.ByteLength()));
  }
  Napi::Value Bind(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), socket_.Bind(info[0].As<Napi::String>().Utf8Value(),
                                                      info[1].As<Napi::Number>().Int32Value()));
  }
  Napi::Value Receive(const Napi::CallbackInfo& info) {
    const long n = socket_.Receive(buffer_, sizeof(buffer_));
    if (n < 0) return Napi::Number::New(info.Env(), static_cast<double>(n));
    return Napi::Buffer<char>::Copy(info.Env(), buffer_, static_cast<size_t>(n));
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    socket_.Close();
    return info.Env().Undefined();
  }

  statsd::UnixDatagramSocket socket_;
  char buffer_[65536];
};

// Native UDP (or unix datagram) input feeding a JsAggregator from its own threads.
class JsReceiver : public Napi::ObjectWrap<JsReceiver> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Receiver",
                       {InstanceMethod<&JsReceiver::Start>("start"),
                        InstanceMethod<&JsReceiver::Stop>("stop"),
                        InstanceMethod<&JsReceiver::Stats>("stats")});
  }

  // new Receiver(aggregator: NativeAggregator, options: { address, port, unix,
  //              workers, batch, receiveBuffer })
  explicit JsReceiver(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JsReceiver>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 2 || !info[0].IsObject() || !info[1].IsObject()) {
      ThrowTypeError(env, "Receiver(aggregator, options)");
      return;
    }
    JsAggregator* aggregator = Napi::ObjectWrap<JsAggregator>::Unwrap(info[0].As<Napi::Object>());
    if (env.IsExceptionPending()) return;
    const Napi::Object o = info[1].As<Napi::Object>();
    statsd::ReceiverOptions options;
    options.address = StringField(o, "address");
    options.port = static_cast<uint16_t>(NumberField(o, "port"));
    options.unix_socket = BoolField(o, "unix");
    options.workers = static_cast<uint32_t>(NumberField(o, "workers"));
    options.batch = static_cast<uint32_t>(NumberField(o, "batch"));
    options.receive_buffer = static_cast<int>(NumberField(o, "receiveBuffer"));
    options.held_bytes = static_cast<size_t>(NumberField(o, "heldBytes"));
    receiver_ = std::make_unique<statsd::UdpReceiver>(aggregator->shared(), options);
  }

 private:
  // start(): number — 0 or an errno.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), receiver_->Start());
  }
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    receiver_->Stop();
    return info.Env().Undefined();
  }
  // stats(out: Float64Array): void — by ReceiverStat (layout.h): port, receive
  // buffer, datagrams, bytes, kernel drops, receive errors, truncated, held
  // during flushes.
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    auto array = info[0].As<Napi::Float64Array>();
    if (array.ElementLength() < statsd::kReceiverStatCount) {
      Napi::RangeError::New(info.Env(), "stats needs a Float64Array(layout.receiverStats.length)")
          .ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    double* out = array.Data();
    const statsd::ReceiverStats& s = receiver_->stats();
    out[statsd::kReceiverPort] = receiver_->bound_port();
    out[statsd::kReceiverReceiveBuffer] = receiver_->receive_buffer();
    out[statsd::kReceiverDatagrams] = static_cast<double>(s.datagrams.load());
    out[statsd::kReceiverBytes] = static_cast<double>(s.bytes.load());
    out[statsd::kReceiverKernelDrops] = static_cast<double>(s.kernel_drops.load());
    out[statsd::kReceiverReceiveErrors] = static_cast<double>(s.receive_errors.load());
    out[statsd::kReceiverTruncated] = static_cast<double>(s.truncated.load());
    out[statsd::kReceiverHeldWhileBusy] = static_cast<double>(s.held.load());
    return info.Env().Undefined();
  }

  std::unique_ptr<statsd::UdpReceiver> receiver_;
};

// toPickle(plaintext: Uint8Array): Buffer — carbon plaintext lines as pickle
// messages (native/graphite.h); lines of another shape are skipped.
Napi::Value JsToPickle(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsTypedArray()) {
    ThrowTypeError(info.Env(), "toPickle(plaintext: Uint8Array)");
    return info.Env().Undefined();
  }
  auto input = info[0].As<Napi::Uint8Array>();
  statsd::GraphiteWriter writer(statsd::GraphiteFormat::kPickle);
  writer.Begin(0);
  statsd::ConvertPlaintext(
      std::string_view(reinterpret_cast<const char*>(input.Data()), input.ByteLength()), &writer);
  writer.Finish();
  return Napi::Buffer<char>::Copy(info.Env(), writer.bytes().data(), writer.bytes().size());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("toPickle", Napi::Function::New(env, JsToPickle, "toPickle"));
  exports.Set("Receiver", JsReceiver::Define(env));
  exports.Set("UnixDatagram", JsUnixDatagram::Define(env));
  exports.Set("Aggregator", JsAggregator::Define(env));
  exports.Set("History", statsd::DefineHistory(env));
  exports.Set("Router", statsd::DefineRouter(env));
  exports.Set("parse", Napi::Function::New(env, JsParse, "parse"));
  exports.Set("pack", Napi::Function::New(env, JsPack, "pack"));
  // The memory layouts TypeScript relies on; src/core/native.ts checks them at load.
  exports.Set("layout", statsd::LayoutExport(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(statsd_native, Init)
