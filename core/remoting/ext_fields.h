#pragma once

// ExtFields: the string-to-string map a command's extFields travel in, stored flat.
//
// A request header holds a dozen short fields, and every request and response builds, encodes,
// decodes and reads one. A std::map spends a heap node per field and a std::string per lookup
// key; this keeps the entries in one vector sorted by key (byte order, as std::string compares),
// looks keys up as string_views and allocates only for keys and values past the small-string
// buffer.
//
// Iteration is in key order, so the JSON and binary encoders write the same bytes as they did
// over std::map and two maps with the same entries compare equal.
//
// Invariants: entries_ is strictly increasing by key (sorted, no duplicate keys).

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/assert.h"

namespace apogee {

class ExtFields {
 public:
  using Entry = std::pair<std::string, std::string>;
  using value_type = Entry;
  using iterator = std::vector<Entry>::iterator;
  using const_iterator = std::vector<Entry>::const_iterator;

  ExtFields() = default;
  // Entries in any order; a key given twice keeps its last value.
  ExtFields(std::initializer_list<Entry> entries)
      : ExtFields(FromEntries(std::vector<Entry>(entries))) {}

  // The map of `entries`, which may come in any order and repeat keys: a repeated key keeps the
  // value that came last, as assigning them one by one into a map would. Sorted input (what
  // every encoder writes) costs one pass.
  static ExtFields FromEntries(std::vector<Entry> entries);

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() { entries_.clear(); }
  void reserve(size_t n) { entries_.reserve(n); }

  // Iteration in key order. Callers may change values through an iterator, never keys.
  iterator begin() { return entries_.begin(); }
  iterator end() { return entries_.end(); }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }

  // The entry of `key`, or end().
  iterator find(std::string_view key) {
    iterator it = LowerBound(key);
    return it != entries_.end() && it->first == key ? it : entries_.end();
  }
  const_iterator find(std::string_view key) const {
    const_iterator it = LowerBound(key);
    return it != entries_.end() && it->first == key ? it : entries_.end();
  }
  // The value of `key`, or nullptr.
  const std::string* Get(std::string_view key) const {
    const_iterator it = find(key);
    return it == end() ? nullptr : &it->second;
  }
  bool contains(std::string_view key) const { return find(key) != end(); }
  size_t count(std::string_view key) const { return contains(key) ? 1 : 0; }

  // The value of `key`. REQUIRES: the key is present (asserted).
  const std::string& at(std::string_view key) const {
    const_iterator it = find(key);
    APOGEE_ASSERT(it != end(), "extFields lacks '{}'", key);
    return it->second;
  }
  std::string& at(std::string_view key) {
    iterator it = find(key);
    APOGEE_ASSERT(it != end(), "extFields lacks '{}'", key);
    return it->second;
  }

  // The value of `key`, inserted empty when absent.
  std::string& operator[](std::string_view key) {
    iterator it = LowerBound(key);
    if (it == entries_.end() || it->first != key) {
      if (entries_.capacity() == 0) {
        entries_.reserve(kInitialCapacity);
        it = entries_.begin();
      }
      it = entries_.emplace(it, key, std::string());
    }
    return it->second;
  }

  // Sets `key` to `value`, replacing a value it had.
  void Set(std::string key, std::string value) {
    // One allocation holds a request header's fields (a send has up to 14).
    if (entries_.capacity() == 0) entries_.reserve(kInitialCapacity);
    // Encoders mostly write keys in order: appending is the common case.
    if (entries_.empty() || entries_.back().first < key) {
      entries_.emplace_back(std::move(key), std::move(value));
      return;
    }
    iterator it = LowerBound(key);
    if (it != entries_.end() && it->first == key) {
      it->second = std::move(value);
    } else {
      entries_.emplace(it, std::move(key), std::move(value));
    }
  }
  void insert_or_assign(std::string key, std::string value) {
    Set(std::move(key), std::move(value));
  }

  // Removes `key`; returns how many entries went (0 or 1).
  size_t erase(std::string_view key) {
    iterator it = find(key);
    if (it == entries_.end()) return 0;
    entries_.erase(it);
    return 1;
  }

  bool operator==(const ExtFields& other) const = default;

 private:
  static constexpr size_t kInitialCapacity = 16;

  iterator LowerBound(std::string_view key) {
    return std::lower_bound(entries_.begin(), entries_.end(), key,
                            [](const Entry& e, std::string_view k) { return e.first < k; });
  }
  const_iterator LowerBound(std::string_view key) const {
    return std::lower_bound(entries_.begin(), entries_.end(), key,
                            [](const Entry& e, std::string_view k) { return e.first < k; });
  }

  std::vector<Entry> entries_;
};

}  // namespace apogee
