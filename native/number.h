// Locale-free decimal parsing and shortest round-trip printing for statsd values.
#ifndef STATSD_NUMBER_H_
#define STATSD_NUMBER_H_

#include <cstddef>

namespace statsd {

// Longest text FormatNumber can write (sign, 17 digits, point, exponent).
constexpr size_t kMaxNumberChars = 32;

// Parses the statsd value grammar over [begin, end):
//   [+-]? digit* ('.' digit*)? ([eE] [+-]? digit+)?   with at least one mantissa digit
// No spaces, hex, inf or nan. On success stores the correctly rounded double in
// *value, whether a sign was written in *has_sign, and returns true. Returns false
// (leaving *value unspecified) for any other text and for values that overflow a
// double; values that underflow read as a signed zero.
bool ParseDecimal(const char* begin, const char* end, double* value, bool* has_sign);

// Like ParseDecimal, but reads the longest decimal at `begin` and returns the
// pointer just past it (so the caller can check what follows), or nullptr when
// there is none, its exponent has no digits, or it overflows.
const char* ScanDecimal(const char* begin, const char* end, double* value, bool* has_sign);

// Writes the shortest text that reads back to `value` into `out` (which must hold
// kMaxNumberChars) and returns its length. The notation matches JavaScript's
// Number#toString: fixed for 1e-6 <= |v| < 1e21, else scientific like "1e-7" or
// "1.5e+21". Negative zero prints as "0"; non-finite values print as
// "Infinity", "-Infinity" and "NaN" (statsd lines never carry them: the
// serializer refuses them; Graphite output may, as etsy statsd's does).
size_t FormatNumber(double value, char* out);

}  // namespace statsd

#endif  // STATSD_NUMBER_H_
