// The N-API boundary: converts arguments, calls the plain C++ core, exports.
#include <napi.h>

#include <string>

#include "codec.h"
#include "records.h"
#include "serializer.h"

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
// flags: 1 = sanitize, 2 = trailing newline. Returns all packets back to back;
// ends[i] is the end of packet i. result: [packets, dropped, status, mismatch, index].
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
      result.ElementLength() < 5) {
    ThrowTypeError(env, "pack: arrays too small for count");
    return env.Undefined();
  }

  std::string& strings = StringScratch();
  size_t length = 0;
  napi_get_value_string_utf8(env, info[0], nullptr, 0, &length);
  strings.resize(length + 1);
  napi_get_value_string_utf8(env, info[0], strings.data(), length + 1, &length);
  strings.resize(length);

  statsd::Packer packer(max_packet, flags & 2);
  statsd::BatchResult batch =
      statsd::PackBatch(strings, columns.Data(), count, flags & 1, &packer);
  packer.Finish();

  uint32_t* r = result.Data();
  r[0] = static_cast<uint32_t>(packer.ends().size());
  r[1] = static_cast<uint32_t>(packer.dropped());
  r[2] = static_cast<uint32_t>(batch.status);
  r[3] = batch.strings_mismatch ? 1 : 0;
  r[4] = static_cast<uint32_t>(batch.failed_index);
  std::copy(packer.ends().begin(), packer.ends().end(), ends.Data());
  return Napi::Buffer<char>::Copy(env, packer.bytes().data(), packer.bytes().size());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("parse", Napi::Function::New(env, JsParse, "parse"));
  exports.Set("pack", Napi::Function::New(env, JsPack, "pack"));
  // The memory layouts TypeScript relies on; src/native.ts checks them at load.
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("recordDoubles", static_cast<double>(statsd::kRecordDoubles));
  layout.Set("infoSize", static_cast<double>(statsd::kInfoSize));
  layout.Set("infoFirst", static_cast<double>(statsd::kInfoFirst));
  layout.Set("parseStatusCount", static_cast<double>(statsd::kParseStatusCount));
  layout.Set("batchStride", static_cast<double>(statsd::kBatchStride));
  exports.Set("layout", layout);
  return exports;
}

}  // namespace

NODE_API_MODULE(statsd_native, Init)
