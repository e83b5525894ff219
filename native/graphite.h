// Graphite output: plaintext lines ("name value timestamp\n") or pickle messages.
#ifndef STATSD_GRAPHITE_H_
#define STATSD_GRAPHITE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace statsd {

// kStatsd is not Graphite: the flush as statsd lines for a daemon upstream
// (flush_statsd.cc), written with AddLine.
enum class GraphiteFormat : uint8_t { kPlaintext = 0, kPickle = 1, kStatsd = 2 };

// Writes one flush into a reusable byte buffer that can be sent to carbon as is:
// plaintext lines, or pickle messages (4-byte big-endian length, then a pickled
// list of (path, (timestamp, value)) tuples) of at most about 64 KiB each.
class GraphiteWriter {
 public:
  explicit GraphiteWriter(GraphiteFormat format) : format_(format) {}

  // Starts a flush stamped `timestamp` (unix seconds); clears the buffer.
  void Begin(int64_t timestamp);
  // Changes the timestamp of the datapoints added next (keeps the buffer).
  void SetTimestamp(int64_t timestamp);
  // Adds one datapoint. `name` is copied; values print shortest round-trip.
  // A NaN or infinite value is not written (carbon drops NaN and stores
  // infinities, which break graphs and sums) but counted in nonfinite().
  void Add(std::string_view name, double value);
  // kStatsd: appends `line` and a '\n', counted as one metric.
  void AddLine(std::string_view line) {
    out_.append(line);
    out_.push_back('\n');
    ++metrics_;
  }
  GraphiteFormat format() const { return format_; }
  // Closes the last pickle message. Call once after the last Add.
  void Finish();

  const std::string& bytes() const { return out_; }
  // Room for `bytes` before Begin: a writer made per flush reserves what the
  // last one wrote, instead of growing by doubling (copying as it goes).
  void Reserve(size_t bytes) { out_.reserve(bytes); }
  // Hands over the bytes written (the writer is left empty).
  std::string TakeBytes() { return std::move(out_); }
  size_t metrics() const { return metrics_; }
  size_t nonfinite() const { return nonfinite_; }

 private:
  void OpenPickleMessage();
  void ClosePickleMessage();

  GraphiteFormat format_;
  std::string out_;
  char timestamp_text_[24] = {};
  size_t timestamp_length_ = 0;
  int64_t timestamp_ = 0;
  size_t metrics_ = 0;
  size_t nonfinite_ = 0;
  size_t message_start_ = std::string::npos;  // open pickle message, if any
};

// Re-encodes plaintext lines ("name value timestamp\n") with `out`; returns the
// number of lines that were not of that shape (skipped).
size_t ConvertPlaintext(std::string_view text, GraphiteWriter* out);

}  // namespace statsd

#endif  // STATSD_GRAPHITE_H_
