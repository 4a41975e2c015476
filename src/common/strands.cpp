#include "common/strands.hpp"

#include <algorithm>
#include <utility>

namespace syn::detail {

namespace {
thread_local const std::string* running_key = nullptr;
}  // namespace

Strands::Strands(std::size_t max_threads) : pool_(std::make_shared<Pool>(std::max<std::size_t>(1, max_threads))) {}

Strands::~Strands() { stop(); }

const std::string* Strands::current_key() { return running_key; }

void Strands::post(const std::string& key, UniqueFunction task) {
  Pool& pool = *pool_;
  MutexLock lock(pool.mutex);
  if (pool.stopping) return;
  Queue& queue = pool.queues[key];
  bool was_idle = queue.tasks.empty() && !queue.running;
  queue.tasks.push_back(std::move(task));
  if (!was_idle) return;  // a thread has it, or it is already ready
  pool.ready.push_back(key);
  if (pool.idle == 0 && pool.threads.size() < pool.max_threads) {
    pool.threads.emplace_back([p = pool_] { work(p); });
  } else {
    pool.wake.notify_one();
  }
}

void Strands::work(const std::shared_ptr<Pool>& shared) {
  Pool& pool = *shared;
  MutexLock lock(pool.mutex);
  for (;;) {
    ++pool.idle;
    lock.wait(pool.wake, [&] {
      pool.mutex.assert_held();  // the analysis cannot see that a wait's predicate runs locked
      return !pool.ready.empty() || pool.stopping;
    });
    --pool.idle;
    if (pool.stopping) return;
    std::string key = std::move(pool.ready.front());
    pool.ready.pop_front();
    auto it = pool.queues.find(key);
    Queue& queue = it->second;
    UniqueFunction task = std::move(queue.tasks.front());
    queue.tasks.pop_front();
    queue.running = true;
    lock.unlock();
    running_key = &key;
    task();                   // the tasks catch what they throw (their owners log it)
    task = UniqueFunction();  // what it holds goes here, not under the lock
    running_key = nullptr;
    lock.lock();
    if (pool.stopping) return;
    queue.running = false;
    if (queue.tasks.empty()) {
      pool.queues.erase(it);
    } else {
      pool.ready.push_back(key);  // behind the other ready keys: no key starves the rest
    }
  }
}

void Strands::stop() {
  std::vector<std::thread> threads;
  {
    MutexLock lock(pool_->mutex);
    pool_->stopping = true;
    pool_->ready.clear();
    threads.swap(pool_->threads);
    pool_->wake.notify_all();
  }
  for (auto& thread : threads) {
    if (thread.get_id() == std::this_thread::get_id()) {
      thread.detach();  // stopped from one of its own tasks: it ends once that task returns
    } else {
      thread.join();
    }
  }
  // The queued tasks go now, outside the lock (they may hold what posts to this pool).
  std::map<std::string, Queue> queues;
  {
    MutexLock lock(pool_->mutex);
    queues.swap(pool_->queues);
  }
}

}  // namespace syn::detail
