// Graphite plaintext and pickle (protocol 2) encoding.
#include "graphite.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "number.h"

namespace statsd {
namespace {

// Datapoints per pickle message, by size: carbon reads a pickle message whole
// and refuses one over PICKLE_RECEIVER_MAX_LENGTH (2^20 bytes by default in
// carbon 1.1.7); 64 KiB keeps each far below it and bounds what one
// undecodable message loses.
constexpr size_t kPickleMessageBytes = 64 * 1024;

void AppendU32LE(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

void GraphiteWriter::Begin(int64_t timestamp) {
  out_.clear();
  metrics_ = nonfinite_ = 0;
  message_start_ = std::string::npos;
  SetTimestamp(timestamp);
}

void GraphiteWriter::SetTimestamp(int64_t timestamp) {
  timestamp_ = timestamp;
  timestamp_length_ = FormatNumber(static_cast<double>(timestamp), timestamp_text_);
}

size_t ConvertPlaintext(std::string_view text, GraphiteWriter* out) {
  size_t skipped = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    // line: name ' ' value ' ' timestamp      stats.api.hits 42 1700000000
    const size_t first = line.find(' ');
    const size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    double value, timestamp;
    bool sign;
    if (second == std::string_view::npos ||
        !ParseDecimal(line.data() + first + 1, line.data() + second, &value, &sign) ||
        !ParseDecimal(line.data() + second + 1, line.data() + line.size(), &timestamp, &sign) ||
        !(timestamp >= 0 && timestamp <= 9007199254740992.0)) {  // whole seconds an int64 holds
      ++skipped;
      continue;
    }
    out->SetTimestamp(static_cast<int64_t>(timestamp));
    out->Add(line.substr(0, first), value);
  }
  return skipped;
}

void GraphiteWriter::Add(std::string_view name, double value) {
  if (!std::isfinite(value)) {
    ++nonfinite_;
    return;
  }
  ++metrics_;
  if (format_ == GraphiteFormat::kPlaintext) {
    // plaintext: name ' ' value ' ' timestamp '\n'    stats.api.hits 42 1700000000
    char digits[kMaxNumberChars];
    const size_t n = FormatNumber(value, digits);
    out_.append(name.data(), name.size());
    out_.push_back(' ');
    out_.append(digits, n);
    out_.push_back(' ');
    out_.append(timestamp_text_, timestamp_length_);
    out_.push_back('\n');
    return;
  }
  if (message_start_ == std::string::npos) OpenPickleMessage();
  // pickle: (path, (timestamp, value)) as BINUNICODE, BININT, BINFLOAT, TUPLE2 x2
  out_.push_back('X');
  AppendU32LE(static_cast<uint32_t>(name.size()), &out_);
  out_.append(name.data(), name.size());
  if (timestamp_ >= INT32_MIN && timestamp_ <= INT32_MAX) {
    out_.push_back('J');  // BININT: signed 32-bit, enough until 2038
    AppendU32LE(static_cast<uint32_t>(static_cast<int32_t>(timestamp_)), &out_);
  } else {
    out_.append("\x8a\x08");  // LONG1, 8 bytes little-endian two's complement
    const auto t = static_cast<uint64_t>(timestamp_);
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((t >> (8 * i)) & 0xff));
  }
  out_.push_back('G');
  uint64_t bits;
  std::memcpy(&bits, &value, 8);
  for (int i = 7; i >= 0; --i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  out_.push_back('\x86');  // TUPLE2 (timestamp, value)
  out_.push_back('\x86');  // TUPLE2 (path, (...))
  if (out_.size() - message_start_ >= kPickleMessageBytes) ClosePickleMessage();
}

void GraphiteWriter::Finish() {
  if (message_start_ != std::string::npos) ClosePickleMessage();
}

void GraphiteWriter::OpenPickleMessage() {
  message_start_ = out_.size();
  out_.append(4, '\0');      // length, filled in on close
  out_.append("\x80\x02]("); // PROTO 2, EMPTY_LIST, MARK
}

void GraphiteWriter::ClosePickleMessage() {
  out_.append("e.");  // APPENDS, STOP
  const size_t length = out_.size() - message_start_ - 4;
  for (int i = 0; i < 4; ++i) {
    out_[message_start_ + i] = static_cast<char>((length >> (8 * (3 - i))) & 0xff);
  }
  message_start_ = std::string::npos;
}

}  // namespace statsd
