// One thread per aggregation shard (aggregator.h): receive threads stage
// lines into per-shard batches (line_stager.h) and hand them over here; each
// shard's thread applies its batches alone, so no lock is taken per line and
// one sender's datagrams use every shard's core.
// Contract: batches of one producer are applied in the order submitted; a
// shard's queue holds at most `queue_bytes` of staged lines, past which
// Submit waits (the kernel's socket buffer then absorbs, and counts drops);
// Settle waits until what was submitted before it is applied; the destructor
// applies what is queued, then joins.
#ifndef STATSD_SHARD_POOL_H_
#define STATSD_SHARD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "aggregator.h"
#include "line_stager.h"

namespace statsd {

class ShardPool {
 public:
  // Starts aggregator->shard_count() threads; the aggregator outlives the pool.
  ShardPool(Aggregator* aggregator, size_t queue_bytes);
  ~ShardPool();
  ShardPool(const ShardPool&) = delete;
  ShardPool& operator=(const ShardPool&) = delete;

  // Moves each non-empty batch of `stager` to its shard's queue (the stager
  // gets empty batches back, keeping their capacity when it can) and resets it.
  void Submit(LineStager* stager);
  // Waits until every batch submitted before this call has been applied.
  void Settle();
  // The lock a shard's thread holds while it applies a batch: hold every
  // shard's (in index order) to use the aggregator alone.
  std::mutex& apply_mutex(uint32_t shard) { return lanes_[shard]->apply; }
  uint32_t shards() const { return static_cast<uint32_t>(lanes_.size()); }
  // Whether someone holds every shard (AggregatorLock: a flush, a reader):
  // what is submitted meanwhile waits in the queues.
  bool held_whole() const { return whole_.load(std::memory_order_relaxed) > 0; }
  void set_held_whole(bool held) { whole_.fetch_add(held ? 1 : -1, std::memory_order_relaxed); }

 private:
  struct Lane {
    std::mutex mutex;  // guards everything below but `apply`
    std::condition_variable work;     // a batch arrived, or stopping
    std::condition_variable progress; // a batch was applied (room, Settle)
    std::deque<std::unique_ptr<StagedBatch>> queue;
    std::vector<std::unique_ptr<StagedBatch>> spare;  // applied batches, for reuse
    size_t queued_bytes = 0;
    uint64_t submitted = 0;
    uint64_t applied = 0;
    bool stopping = false;
    std::mutex apply;
    std::thread thread;
  };

  void Run(uint32_t shard);

  Aggregator* const aggregator_;
  const size_t queue_bytes_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::atomic<int> whole_{0};
};

}  // namespace statsd

#endif  // STATSD_SHARD_POOL_H_
