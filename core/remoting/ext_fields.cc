#include "core/remoting/ext_fields.h"

namespace apogee {

ExtFields ExtFields::FromEntries(std::vector<Entry> entries) {
  auto key_less = [](const Entry& a, const Entry& b) { return a.first < b.first; };
  ExtFields out;
  // Strictly increasing keys (what the encoders write) are already the stored form.
  if (std::adjacent_find(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return !(a.first < b.first);
      }) != entries.end()) {
    // Stable, so equal keys stay in arrival order and the last of each run is the one to keep.
    std::stable_sort(entries.begin(), entries.end(), key_less);
    size_t kept = 0;
    for (size_t i = 0; i < entries.size(); i++) {
      if (i + 1 < entries.size() && entries[i + 1].first == entries[i].first) continue;
      if (kept != i) entries[kept] = std::move(entries[i]);
      kept++;
    }
    entries.resize(kept);
  }
  out.entries_ = std::move(entries);
  APOGEE_ASSERT(std::adjacent_find(out.entries_.begin(), out.entries_.end(),
                                   [](const Entry& a, const Entry& b) {
                                     return !(a.first < b.first);
                                   }) == out.entries_.end());
  return out;
}

}  // namespace apogee
