#pragma once

// Consumer offsets (RocketMQ's OffsetStore): the next offset to consume per queue.
//
//   RemoteOffsetStore (clustering): kept in memory, pushed to the queue's broker with
//     UPDATE_CONSUMER_OFFSET by PersistAll() (every 5 s and at shutdown), read from it with
//     QUERY_CONSUMER_OFFSET (22 QUERY_NOT_FOUND: nothing stored).
//   LocalOffsetStore (broadcasting): kept in memory and in one file per client and group,
//     `{dir}/{client id}/{group}/offsets.json`, written atomically (io::Disk::WriteAtomically)
//     by PersistAll(); the file is read once by Load(). Its format (ours, not RocketMQ's):
//     {"offsetTable":[{"topic":"T","brokerName":"b","queueId":0,"offset":12},...]}.
//
// Every call that reaches a broker or the disk may yield.

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "core/base/status.h"
#include "core/client/client_instance.h"
#include "core/protocol/bodies.h"

namespace apogee::client {

// Nothing stored for the queue.
inline constexpr int64_t kNoOffset = -1;

enum class ReadOffsetType : uint8_t { kMemory, kStore, kMemoryThenStore };

class OffsetStore {
 public:
  virtual ~OffsetStore() = default;
  virtual Status Load() = 0;
  // Sets the memory offset; with `increase_only` a smaller value is ignored.
  virtual void UpdateOffset(const MessageQueue& mq, int64_t offset, bool increase_only);
  // The offset, or kNoOffset when none is stored; an error when the store could not be read.
  virtual Result<int64_t> ReadOffset(const MessageQueue& mq, ReadOffsetType type) = 0;
  // Persists the memory offsets of `mqs`; the remote store also forgets the others.
  virtual void PersistAll(const std::set<MessageQueue>& mqs) = 0;
  virtual void Persist(const MessageQueue& mq) = 0;
  // Forgets the memory offset (a queue that left this client).
  virtual void RemoveOffset(const MessageQueue& mq) = 0;

  const std::map<MessageQueue, int64_t>& offsets() const { return offsets_; }

 protected:
  std::optional<int64_t> Memory(const MessageQueue& mq) const;
  std::map<MessageQueue, int64_t> offsets_;
};

class RemoteOffsetStore final : public OffsetStore {
 public:
  RemoteOffsetStore(ClientInstance& instance, std::string group)
      : instance_(instance), group_(std::move(group)) {}
  Status Load() override { return Status::Ok(); }
  Result<int64_t> ReadOffset(const MessageQueue& mq, ReadOffsetType type) override;
  void PersistAll(const std::set<MessageQueue>& mqs) override;
  void Persist(const MessageQueue& mq) override;
  void RemoveOffset(const MessageQueue& mq) override { offsets_.erase(mq); }

 private:
  Result<int64_t> Query(const MessageQueue& mq);
  Status Update(const MessageQueue& mq, int64_t offset);

  ClientInstance& instance_;
  std::string group_;
};

class LocalOffsetStore final : public OffsetStore {
 public:
  LocalOffsetStore(io::Env& env, const std::string& dir, const std::string& client_id,
                   const std::string& group);
  // Reads the file if there is one; a file that does not parse is kCorruption.
  Status Load() override;
  Result<int64_t> ReadOffset(const MessageQueue& mq, ReadOffsetType type) override;
  void PersistAll(const std::set<MessageQueue>& mqs) override;
  void Persist(const MessageQueue& mq) override;
  // Broadcasting keeps every queue's offset: nothing to forget.
  void RemoveOffset(const MessageQueue&) override {}

  const std::string& path() const { return path_; }

 private:
  Status Write();

  io::Env& env_;
  std::string dir_;
  std::string path_;
};

}  // namespace apogee::client
