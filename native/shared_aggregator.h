// An Aggregator shared by the JS thread, flush workers and receive threads,
// and the lock that gives one of them the whole of it.
// Contract: with one shard, every use holds `mutex` (receive threads too);
// with more, receive threads only Submit staged batches to `pool`, whose
// threads hold one shard's apply lock each, and everything else takes an
// AggregatorLock (mutex, then every shard's lock in order: no lock cycle).
#ifndef STATSD_SHARED_AGGREGATOR_H_
#define STATSD_SHARED_AGGREGATOR_H_

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "aggregator.h"
#include "shard_pool.h"

namespace statsd {

struct SharedAggregator {
  // Least the shards' queues may hold, whatever `held_bytes` says (0 holds
  // nothing on one shard; shards must queue what they are handed).
  static constexpr size_t kMinQueueBytes = size_t{4} << 20;

  explicit SharedAggregator(AggregatorOptions options) : aggregator(std::move(options)) {}
  // Starts the shards' threads, once, for a receiver (an aggregator only
  // ingested into from JS needs none: Ingest applies in place). Their
  // queues hold what the first receiver would hold while a flush runs
  // (ReceiverOptions::held_bytes: staged lines take ~3-4× a datagram's bytes).
  void StartPool(size_t held_bytes) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!pool && aggregator.shard_count() > 1) {
      pool = std::make_unique<ShardPool>(&aggregator, std::max(held_bytes, kMinQueueBytes));
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
  // Waits for the aggregator. With `settle` (a flush), first waits until the
  // shards applied what was handed to them: a flush then has every datagram
  // received before it began, each whole (ShardPool::LockAll).
  AggregatorLock(SharedAggregator& shared, bool settle) : main_(shared.mutex) {
    LockShards(shared, settle);
  }
  // Takes the aggregator only if no one else holds it as a whole (a flush);
  // check owns_lock().
  AggregatorLock(SharedAggregator& shared, std::try_to_lock_t) : main_(shared.mutex, std::try_to_lock) {
    if (main_.owns_lock()) LockShards(shared, /*settle=*/false);
  }
  bool owns_lock() const { return main_.owns_lock(); }
  ~AggregatorLock() {
    if (flushing_) flushing_->set_flushing(false);
  }
  AggregatorLock(const AggregatorLock&) = delete;
  AggregatorLock& operator=(const AggregatorLock&) = delete;

 private:
  void LockShards(SharedAggregator& shared, bool settle) {
    if (!shared.pool) return;
    if (settle) {  // a flush: receive threads count what they read meanwhile as held
      flushing_ = shared.pool.get();
      flushing_->set_flushing(true);
    }
    shared.pool->LockAll(settle, &shards_);
  }

  ShardPool* flushing_ = nullptr;
  std::unique_lock<std::mutex> main_;
  std::vector<std::unique_lock<std::mutex>> shards_;
};

}  // namespace statsd

#endif  // STATSD_SHARED_AGGREGATOR_H_
