#include "tables/replica_map.hpp"

#include <new>

namespace syn::detail {

namespace {

constexpr std::align_val_t kBlockAlign{64};

// A table with no slot to fill: capacity 1, its only tag empty. Static zeroed storage is
// exactly that, so a new map costs no allocation, and readers of it see "miss".
alignas(64) unsigned char g_empty_block[128];

}  // namespace

ReplicaMap::Block* ReplicaMap::empty_block() { return reinterpret_cast<Block*>(g_empty_block); }

ReplicaMap::Block* ReplicaMap::allocate(std::size_t capacity) {
  void* memory = ::operator new(block_bytes(capacity), kBlockAlign);
  auto* b = static_cast<Block*>(memory);
  b->mask = capacity - 1;
  std::memset(b->ctrl(), 0, capacity * sizeof(std::uint32_t));
  return b;
}

void ReplicaMap::deallocate(void* block) {
  if (block != g_empty_block) ::operator delete(block, kBlockAlign);
}

ReplicaMap::ReplicaMap() : block_(empty_block()) {}

ReplicaMap::~ReplicaMap() {
  // The owner is going away: no reader can be inside any more.
  Block* b = block();
  destroy_slots(b);
  deallocate(b);
}

void ReplicaMap::destroy_slots(Block* b) {
  for (std::size_t i = 0; i < b->capacity(); ++i) {
    if (b->ctrl()[i] != 0) b->slots()[i].~ReplicaSlot();
  }
}

ReplicaMap::iterator ReplicaMap::find(std::string_view key, std::size_t hash) {
  Block* b = block();
  const std::uint32_t tag = tag_of(hash);
  for (std::size_t i = tag & b->mask;; i = (i + 1) & b->mask) {
    std::uint32_t c = b->ctrl()[i];
    if (c == 0) return end();
    if (c == tag && b->slots()[i].first.view() == key) return iterator(b, i);
  }
}

std::pair<ReplicaMap::iterator, bool> ReplicaMap::try_emplace(std::string_view key) {
  const std::size_t hash = KeyHash{}(key);
  if (auto it = find(key, hash); it != end()) return {it, false};
  if (size_ + 1 > max_size(capacity())) grow();
  Block* b = block();
  const std::uint32_t tag = tag_of(hash);
  std::size_t i = tag & b->mask;
  while (b->ctrl()[i] != 0) i = (i + 1) & b->mask;
  new (&b->slots()[i]) ReplicaSlot{SmallKey(key), RegEntry()};
  b->ctrl()[i] = tag;
  ++size_;
  return {iterator(b, i), true};
}

void ReplicaMap::erase(const_iterator it) {
  Block* b = block();
  const std::size_t mask = b->mask;
  std::size_t hole = it.index_;
  b->slots()[hole].~ReplicaSlot();  // heap key and meta are retired, not freed
  // Backward shift: move back every following entry of the run whose home is not between the
  // hole and itself, so that no probe ever stops early at the hole.
  for (std::size_t j = (hole + 1) & mask;; j = (j + 1) & mask) {
    std::uint32_t c = b->ctrl()[j];
    if (c == 0) break;
    std::size_t home = c & mask;
    bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    new (&b->slots()[hole]) ReplicaSlot(std::move(b->slots()[j]));
    b->slots()[j].~ReplicaSlot();  // moved from: owns nothing
    b->ctrl()[hole] = c;
    hole = j;
  }
  b->ctrl()[hole] = 0;
  --size_;
}

void ReplicaMap::clear() {
  Block* old = block();
  block_.store(empty_block(), std::memory_order_release);
  destroy_slots(old);
  if (old != empty_block()) reclaim::retire(old, deallocate, block_bytes(old->capacity()));
  size_ = 0;
}

void ReplicaMap::grow() {
  Block* old = block();
  const std::size_t capacity = old->capacity() < kMinCapacity ? kMinCapacity : old->capacity() * 2;
  Block* b = allocate(capacity);
  for (std::size_t i = 0; i < old->capacity(); ++i) {
    std::uint32_t c = old->ctrl()[i];
    if (c == 0) continue;
    std::size_t j = c & b->mask;
    while (b->ctrl()[j] != 0) j = (j + 1) & b->mask;
    // Moving leaves the old slot owning nothing; the old tags stay, so a reader still probing
    // the old block reaches an empty tag and stops (its seqlock check then sends it back).
    new (&b->slots()[j]) ReplicaSlot(std::move(old->slots()[i]));
    old->slots()[i].~ReplicaSlot();
    b->ctrl()[j] = c;
  }
  block_.store(b, std::memory_order_release);
  if (old != empty_block()) reclaim::retire(old, deallocate, block_bytes(old->capacity()));
}

}  // namespace syn::detail
