// Decimal parsing with an exact fast path, and JS-compatible shortest printing.
#include "number.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace statsd {
namespace {

// Powers of ten that a double holds exactly: with a mantissa below 2^53, one
// multiplication or division by these is correctly rounded (Clinger's fast path).
constexpr double kExactPowersOfTen[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
constexpr uint64_t kMaxExactMantissa = uint64_t{1} << 53;

inline bool IsDigit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

// Slow path for long mantissas and large exponents: libstdc++'s from_chars is
// correctly rounded and locale-free. `begin` has no leading '+'.
bool ParseSlow(const char* begin, const char* end, bool exponent_negative, double* value) {
  double result = 0;
  auto [ptr, ec] = std::from_chars(begin, end, result, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) {
    if (!exponent_negative) return false;        // overflow: no infinities
    result = (*begin == '-') ? -0.0 : 0.0;       // underflow reads as zero
  } else if (ec != std::errc() || ptr != end) {
    return false;
  }
  if (!std::isfinite(result)) return false;
  *value = result;
  return true;
}

}  // namespace

const char* ScanDecimal(const char* begin, const char* end, double* value, bool* has_sign) {
  const char* p = begin;
  bool negative = false;
  *has_sign = false;
  if (p < end && (*p == '+' || *p == '-')) {
    negative = *p == '-';
    *has_sign = true;
    ++p;
  }
  const char* number_start = negative ? p - 1 : p;  // from_chars takes '-', not '+'

  // mantissa: digits, optional '.', digits     12.50e3
  //                                            ^^^^^
  uint64_t mantissa = 0;
  int significant = 0;     // digits accumulated into mantissa (after leading zeros)
  int dropped = 0;         // integer digits beyond 19 significant ones
  int fraction_digits = 0; // fraction digits accumulated into mantissa
  int digits = 0;
  bool fraction_truncated = false;
  while (p < end && IsDigit(*p)) {
    ++digits;
    if (significant < 19) {
      mantissa = mantissa * 10 + static_cast<unsigned>(*p - '0');
      if (mantissa != 0) ++significant;
    } else {
      ++dropped;
    }
    ++p;
  }
  if (p < end && *p == '.') {
    ++p;
    while (p < end && IsDigit(*p)) {
      ++digits;
      if (significant < 19) {
        mantissa = mantissa * 10 + static_cast<unsigned>(*p - '0');
        if (mantissa != 0) ++significant;
        ++fraction_digits;
      } else {
        fraction_truncated = true;
      }
      ++p;
    }
  }
  if (digits == 0) return nullptr;

  // exponent: [eE] [+-]? digit+               12.50e3
  //                                                ^^
  int64_t exponent = 0;
  bool exponent_negative = false;
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) {
      exponent_negative = *p == '-';
      ++p;
    }
    if (p == end || !IsDigit(*p)) return nullptr;
    while (p < end && IsDigit(*p)) {
      if (exponent < 100000) exponent = exponent * 10 + (*p - '0');
      ++p;
    }
    if (exponent_negative) exponent = -exponent;
  }
  const int64_t scale = exponent - fraction_digits + dropped;
  if (!fraction_truncated && dropped == 0 && mantissa <= kMaxExactMantissa &&
      scale >= -22 && scale <= 22) {
    double result = static_cast<double>(mantissa);
    if (scale < 0) {
      result /= kExactPowersOfTen[-scale];
    } else {
      result *= kExactPowersOfTen[scale];
    }
    *value = negative ? -result : result;
    return p;
  }
  return ParseSlow(number_start, p, scale < 0, value) ? p : nullptr;
}

bool ParseDecimal(const char* begin, const char* end, double* value, bool* has_sign) {
  return ScanDecimal(begin, end, value, has_sign) == end;
}

size_t FormatNumber(double value, char* out) {
  if (value == 0) {  // also folds -0
    out[0] = '0';
    return 1;
  }
  if (!std::isfinite(value)) {  // as JavaScript (and so etsy statsd) prints them
    const char* text = std::isnan(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
    const size_t n = std::strlen(text);
    std::memcpy(out, text, n);
    return n;
  }
  // Whole numbers below 2^53 (counts, most gauges) print as integers directly.
  if (std::fabs(value) < 9007199254740992.0 && std::trunc(value) == value) {
    auto result = std::to_chars(out, out + kMaxNumberChars, static_cast<int64_t>(value));
    return static_cast<size_t>(result.ptr - out);
  }
  // Shortest round-trip digits come from the scientific form, "d.ddde±x".
  char sci[kMaxNumberChars];
  auto result = std::to_chars(sci, sci + kMaxNumberChars, value, std::chars_format::scientific);
  const char* p = sci;
  char* o = out;
  if (*p == '-') *o++ = *p++;
  char digits[20] = {};
  size_t n = 0;
  for (; *p != 'e'; ++p) {
    if (*p != '.') digits[n++] = *p;
  }
  int exponent = 0;  // p: "e+05" (not NUL-terminated)
  for (const char* q = p + 2; q < result.ptr; ++q) exponent = exponent * 10 + (*q - '0');
  if (p[1] == '-') exponent = -exponent;
  const double magnitude = std::fabs(value);
  if (magnitude >= 1e-6 && magnitude < 1e21) {
    // Fixed layout of the same digits, as JavaScript prints it.
    if (exponent < 0) {
      *o++ = '0';
      *o++ = '.';
      for (int i = -1; i > exponent; --i) *o++ = '0';
      std::memcpy(o, digits, n);
      o += n;
    } else {
      const size_t integer_digits = static_cast<size_t>(exponent) + 1;
      for (size_t i = 0; i < integer_digits; ++i) *o++ = i < n ? digits[i] : '0';
      if (n > integer_digits) {
        *o++ = '.';
        std::memcpy(o, digits + integer_digits, n - integer_digits);
        o += n - integer_digits;
      }
    }
    return static_cast<size_t>(o - out);
  }
  // Scientific: "1e-7", "1.5e+21" (no exponent zero padding, like JavaScript).
  *o++ = digits[0];
  if (n > 1) {
    *o++ = '.';
    std::memcpy(o, digits + 1, n - 1);
    o += n - 1;
  }
  *o++ = 'e';
  *o++ = exponent < 0 ? '-' : '+';
  char exp_text[8];
  auto exp_end = std::to_chars(exp_text, exp_text + sizeof exp_text, exponent < 0 ? -exponent : exponent);
  std::memcpy(o, exp_text, static_cast<size_t>(exp_end.ptr - exp_text));
  o += exp_end.ptr - exp_text;
  return static_cast<size_t>(o - out);
}

}  // namespace statsd
