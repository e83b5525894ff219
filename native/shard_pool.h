// One thread per aggregation shard (aggregator.h): receive threads stage
// lines into per-shard batches (line_stager.h) and hand them over here; each
// shard's thread applies its batches alone, so no lock is taken per line and
// one sender's datagrams use every shard's core.
// Contract: a producer's batches are applied in the order submitted; a
// submission (all the shards' batches of some datagrams) is seen whole or not
// at all by a flush (LockAll with settle); what waits in the queues is at
// most `queue_bytes` (counting each batch's own overhead), past which Submit
// waits (the kernel's socket buffer then absorbs, and counts its drops); the
// destructor applies what is queued, then joins.
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
  // Memory a queued batch holds beyond its lines (the batch, its three
  // buffers' headers and allocations, the queue's slot), for the bound.
  static constexpr size_t kBatchOverhead = 256;

  // Starts aggregator->shard_count() threads; the aggregator outlives the pool.
  ShardPool(Aggregator* aggregator, size_t queue_bytes);
  ~ShardPool();
  ShardPool(const ShardPool&) = delete;
  ShardPool& operator=(const ShardPool&) = delete;

  // Moves the non-empty batches of `stager` to their shards' queues at once
  // (the stager gets empty batches back, keeping their capacity when it
  // can) and resets it. Waits while the queues hold their bound.
  void Submit(LineStager* stager);
  // Takes every shard's apply lock into *locks (in index order). With
  // `settle`, first waits until every submission made before is applied,
  // holding new ones off until the locks are taken: a flush then has whole
  // datagrams, all those received before it began.
  void LockAll(bool settle, std::vector<std::unique_lock<std::mutex>>* locks);
  uint32_t shards() const { return static_cast<uint32_t>(lanes_.size()); }
  // Whether a flush holds every shard: what is submitted meanwhile waits.
  bool flushing() const { return flushing_.load(std::memory_order_relaxed) > 0; }
  void set_flushing(bool flushing) { flushing_.fetch_add(flushing ? 1 : -1, std::memory_order_relaxed); }

 private:
  struct Lane {
    std::mutex mutex;  // guards everything below but `apply` and `thread`
    std::condition_variable work;      // a batch arrived, or stopping
    std::condition_variable progress;  // a batch was applied (LockAll's settle)
    std::deque<std::unique_ptr<StagedBatch>> queue;
    std::vector<std::unique_ptr<StagedBatch>> spare;  // applied batches, for reuse
    uint64_t submitted = 0;
    uint64_t applied = 0;
    bool stopping = false;
    std::mutex apply;  // held while a batch is applied
    std::thread thread;
  };

  void Run(uint32_t shard);

  Aggregator* const aggregator_;
  const size_t queue_bytes_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::mutex submit_;  // held while a submission is queued, and by a settling LockAll
  std::mutex budget_;  // guards queued_bytes_
  std::condition_variable room_;
  size_t queued_bytes_ = 0;
  std::atomic<int> flushing_{0};
};

}  // namespace statsd

#endif  // STATSD_SHARD_POOL_H_
