#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/base/bytes.h"

namespace apogee {
namespace {

// One field of a record: which writer method it uses is the variant's alternative.
using Field = std::variant<uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t, std::string>;

void Write(ByteWriter& w, const Field& f) {
  switch (f.index()) {
    case 0:
      w.U8(std::get<0>(f));
      break;
    case 1:
      w.U16(std::get<1>(f));
      break;
    case 2:
      w.U32(std::get<2>(f));
      break;
    case 3:
      w.U64(std::get<3>(f));
      break;
    case 4:
      w.I32(std::get<4>(f));
      break;
    case 5:
      w.I64(std::get<5>(f));
      break;
    case 6:
      w.Bytes(std::string_view(std::get<6>(f)));
      break;
  }
}

Field Read(ByteReader& r, const Field& like) {
  switch (like.index()) {
    case 0:
      return r.U8();
    case 1:
      return r.U16();
    case 2:
      return r.U32();
    case 3:
      return r.U64();
    case 4:
      return r.I32();
    case 5:
      return r.I64();
    default:
      return r.String(std::get<6>(like).size());
  }
}

rc::Gen<Field> GenField() {
  return rc::gen::oneOf(rc::gen::cast<Field>(rc::gen::arbitrary<uint8_t>()),
                        rc::gen::cast<Field>(rc::gen::arbitrary<uint16_t>()),
                        rc::gen::cast<Field>(rc::gen::arbitrary<uint32_t>()),
                        rc::gen::cast<Field>(rc::gen::arbitrary<uint64_t>()),
                        rc::gen::cast<Field>(rc::gen::arbitrary<int32_t>()),
                        rc::gen::cast<Field>(rc::gen::arbitrary<int64_t>()),
                        rc::gen::cast<Field>(rc::gen::arbitrary<std::string>()));
}

size_t Width(const Field& f) {
  static constexpr size_t kWidths[] = {1, 2, 4, 8, 4, 8};
  return f.index() == 6 ? std::get<6>(f).size() : kWidths[f.index()];
}

// Proves that any sequence of fields written by ByteWriter reads back equal with ByteReader,
// consuming exactly the bytes written.
RC_GTEST_PROP(BytesProp, WriterReaderRoundTrip, ()) {
  const auto fields = *rc::gen::container<std::vector<Field>>(GenField());
  std::vector<uint8_t> buf;
  ByteWriter w(&buf);
  size_t expected_size = 0;
  for (const Field& f : fields) {
    Write(w, f);
    expected_size += Width(f);
  }
  RC_ASSERT(buf.size() == expected_size);
  ByteReader r(buf);
  for (const Field& f : fields) RC_ASSERT(Read(r, f) == f);
  RC_ASSERT(r.ok());
  RC_ASSERT(r.remaining() == 0u);
}

// Proves that a truncated buffer is always detected: reading the same fields back from a strict
// prefix ends with ok() false, and never reads outside the buffer (ASan checks that part).
RC_GTEST_PROP(BytesProp, TruncationIsDetected, ()) {
  const auto fields = *rc::gen::nonEmpty(rc::gen::container<std::vector<Field>>(GenField()));
  std::vector<uint8_t> buf;
  ByteWriter w(&buf);
  for (const Field& f : fields) Write(w, f);
  RC_PRE(!buf.empty());
  const size_t cut = *rc::gen::inRange<size_t>(0, buf.size());
  std::vector<uint8_t> prefix(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(cut));
  ByteReader r(prefix);
  for (const Field& f : fields) (void)Read(r, f);
  RC_ASSERT(!r.ok());
}

// Proves the raw Put/Get helpers are inverse for every value.
RC_GTEST_PROP(BytesProp, PutGetInverse, (uint16_t a, uint32_t b, uint64_t c)) {
  uint8_t buf[8];
  PutU16(buf, a);
  RC_ASSERT(GetU16(buf) == a);
  PutU32(buf, b);
  RC_ASSERT(GetU32(buf) == b);
  PutU64(buf, c);
  RC_ASSERT(GetU64(buf) == c);
}

}  // namespace
}  // namespace apogee
