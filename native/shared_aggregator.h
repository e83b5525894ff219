// An Aggregator shared by the JS thread, flush workers and receive threads,
// and the lock that gives one of them the whole of it.
// Contract: with one shard, every use holds `mutex` (receive threads too);
// with more, receive threads only Submit staged batches to `pool`, whose
// threads hold one shard's apply lock each, and everything else takes an
// AggregatorLock (mutex, then every shard's lock in order: no lock cycle).
#ifndef STATSD_SHARED_AGGREGATOR_H_
#define STATSD_SHARED_AGGREGATOR_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "aggregator.h"
#include "shard_pool.h"

namespace statsd {

struct SharedAggregator {
  // Staged lines a sharded aggregator's queues hold, over all shards: the
  // bound on datagrams held while the aggregator is busy, as one receive
  // thread's HeldDatagrams (ReceiverOptions::held_bytes).
  static constexpr size_t kQueueBytes = size_t{64} << 20;

  explicit SharedAggregator(AggregatorOptions options) : aggregator(std::move(options)) {}
  // Starts the shards' threads, once, for a receiver (an aggregator only
  // ingested into from JS needs none: Ingest applies in place).
  void StartPool() {
    std::lock_guard<std::mutex> lock(mutex);
    if (!pool && aggregator.shard_count() > 1) {
      pool = std::make_unique<ShardPool>(&aggregator, kQueueBytes / aggregator.shard_count());
    }
  }
  // The pool's threads apply what is queued and stop before the aggregator goes.
  ~SharedAggregator() { pool.reset(); }

  std::mutex mutex;
  Aggregator aggregator;
  std::unique_ptr<ShardPool> pool;  // set under `mutex` by StartPool; only with shards
  // Bytes the last asynchronous flush wrote (guarded by `mutex`): the next
  // one reserves as much (binding.cc FlushWorker).
  size_t last_flush_bytes = 0;
};

// Exclusive use of a SharedAggregator while it lives.
class AggregatorLock {
 public:
  // Waits for the aggregator. With `settle`, first waits until the shards
  // applied what was handed to them (a flush then includes every datagram
  // received before it began).
  AggregatorLock(SharedAggregator& shared, bool settle) : main_(shared.mutex) {
    if (settle && shared.pool) shared.pool->Settle();  // the shards need no `mutex` to apply
    LockShards(shared);
  }
  // Takes the aggregator only if no one else holds it as a whole (a flush);
  // check owns_lock().
  AggregatorLock(SharedAggregator& shared, std::try_to_lock_t) : main_(shared.mutex, std::try_to_lock) {
    if (main_.owns_lock()) LockShards(shared);
  }
  bool owns_lock() const { return main_.owns_lock(); }
  ~AggregatorLock() {
    if (pool_) pool_->set_held_whole(false);
  }
  AggregatorLock(const AggregatorLock&) = delete;
  AggregatorLock& operator=(const AggregatorLock&) = delete;

 private:
  void LockShards(SharedAggregator& shared) {
    if (!shared.pool) return;
    pool_ = shared.pool.get();
    pool_->set_held_whole(true);
    for (uint32_t k = 0; k < pool_->shards(); ++k) shards_.emplace_back(pool_->apply_mutex(k));
  }

  ShardPool* pool_ = nullptr;
  std::unique_lock<std::mutex> main_;
  std::vector<std::unique_lock<std::mutex>> shards_;
};

}  // namespace statsd

#endif  // STATSD_SHARED_AGGREGATOR_H_
