// Shard threads and their queues (see shard_pool.h).
#include "shard_pool.h"

#include <utility>

namespace statsd {
namespace {

// Applied batches a lane keeps for reuse: enough for a producer's next
// hand-over without allocating, few enough to hold little memory.
constexpr size_t kSpareBatches = 4;

size_t QueuedBytes(const StagedBatch& batch) { return batch.bytes() + ShardPool::kBatchOverhead; }

}  // namespace

ShardPool::ShardPool(Aggregator* aggregator, size_t queue_bytes)
    : aggregator_(aggregator), queue_bytes_(queue_bytes) {
  const uint32_t shards = aggregator->shard_count();
  for (uint32_t i = 0; i < shards; ++i) lanes_.push_back(std::make_unique<Lane>());
  for (uint32_t i = 0; i < shards; ++i) lanes_[i]->thread = std::thread([this, i] { Run(i); });
}

ShardPool::~ShardPool() {
  for (auto& lane : lanes_) {
    {
      std::lock_guard<std::mutex> lock(lane->mutex);
      lane->stopping = true;
    }
    lane->work.notify_one();
  }
  for (auto& lane : lanes_) lane->thread.join();
}

void ShardPool::Submit(LineStager* stager) {
  size_t bytes = 0;
  for (uint32_t k = 0; k < shards(); ++k) {
    if (!stager->batch(k).empty()) bytes += QueuedBytes(stager->batch(k));
  }
  if (bytes == 0) return stager->Reset();
  {
    // Full: wait for the shards (a submission always fits an empty queue).
    std::unique_lock<std::mutex> budget(budget_);
    room_.wait(budget, [&] { return queued_bytes_ == 0 || queued_bytes_ + bytes <= queue_bytes_; });
    queued_bytes_ += bytes;
  }
  std::lock_guard<std::mutex> whole(submit_);
  for (uint32_t k = 0; k < shards(); ++k) {
    StagedBatch& staged = stager->batch(k);
    if (staged.empty()) continue;
    Lane& lane = *lanes_[k];
    {
      std::lock_guard<std::mutex> lock(lane.mutex);
      std::unique_ptr<StagedBatch> batch;
      if (lane.spare.empty()) {
        batch = std::make_unique<StagedBatch>();
      } else {
        batch = std::move(lane.spare.back());
        lane.spare.pop_back();
      }
      std::swap(*batch, staged);  // the stager keeps an empty batch with capacity
      lane.queue.push_back(std::move(batch));
      ++lane.submitted;
    }
    lane.work.notify_one();
  }
  stager->Reset();
}

void ShardPool::LockAll(bool settle, std::vector<std::unique_lock<std::mutex>>* locks) {
  std::unique_lock<std::mutex> no_submissions(submit_, std::defer_lock);
  if (settle) {
    no_submissions.lock();
    for (auto& lane : lanes_) {
      std::unique_lock<std::mutex> lock(lane->mutex);
      lane->progress.wait(lock, [&] { return lane->applied == lane->submitted; });
    }
  }
  for (auto& lane : lanes_) locks->emplace_back(lane->apply);
}

void ShardPool::Run(uint32_t shard) {
  Lane& lane = *lanes_[shard];
  for (;;) {
    std::unique_ptr<StagedBatch> batch;
    {
      std::unique_lock<std::mutex> lock(lane.mutex);
      lane.work.wait(lock, [&] { return !lane.queue.empty() || lane.stopping; });
      if (lane.queue.empty()) return;  // stopping, and everything applied
      batch = std::move(lane.queue.front());
      lane.queue.pop_front();
    }
    const size_t bytes = QueuedBytes(*batch);
    {
      std::lock_guard<std::mutex> apply(lane.apply);
      aggregator_->Apply(shard, *batch);
    }
    batch->Clear();
    {
      std::lock_guard<std::mutex> budget(budget_);
      queued_bytes_ -= bytes;
    }
    room_.notify_all();
    {
      std::lock_guard<std::mutex> lock(lane.mutex);
      ++lane.applied;
      if (lane.spare.size() < kSpareBatches) lane.spare.push_back(std::move(batch));
    }
    lane.progress.notify_all();
  }
}

}  // namespace statsd
