// The broadcasts a multicast handler waits to see confirmed (src/multicast/pending_broadcasts):
// bytes and promises come back once each, in any order, and the ring empties from its front.
#include "multicast/pending_broadcasts.hpp"

#include <catch2/catch.hpp>

using syn::detail::multicast::PendingBroadcasts;

TEST_CASE("pending broadcasts: each token's bytes and promise come back once, out of order too", "[unit][multicast]") {
  PendingBroadcasts pending;
  auto promise = std::make_shared<std::promise<syn::Result<void>>>();
  pending.add(7, 10, nullptr);
  pending.add(8, 20, promise);
  pending.add(9, 30, nullptr);
  REQUIRE(pending.size() == 3);

  // 8 first: its promise and bytes, but 7 still holds the front.
  auto done = pending.finish(8);
  REQUIRE(done);
  CHECK(done->bytes == 20);
  CHECK(done->confirmation == promise);
  CHECK(pending.size() == 3);
  CHECK_FALSE(pending.finish(8));  // once only
  CHECK_FALSE(pending.finish(6));  // never added
  CHECK_FALSE(pending.finish(10));

  done = pending.finish(7);
  REQUIRE(done);
  CHECK(done->bytes == 10);
  CHECK(done->confirmation == nullptr);
  CHECK(pending.size() == 1);  // 7 and 8 left the front together

  done = pending.finish(9);
  REQUIRE(done);
  CHECK(done->bytes == 30);
  CHECK(pending.empty());

  // Empty, it starts again at whatever token comes next.
  pending.add(42, 5, nullptr);
  CHECK(pending.finish(42)->bytes == 5);
  CHECK(pending.empty());
}

TEST_CASE("pending broadcasts: the promises still owed are taken out, and only those", "[unit][multicast]") {
  PendingBroadcasts pending;
  auto first = std::make_shared<std::promise<syn::Result<void>>>();
  auto second = std::make_shared<std::promise<syn::Result<void>>>();
  pending.add(1, 1, first);
  pending.add(2, 1, nullptr);
  pending.add(3, 1, second);
  REQUIRE(pending.finish(1));
  auto owed = pending.take_confirmations();
  REQUIRE(owed.size() == 1);
  CHECK(owed[0] == second);
  CHECK(pending.take_confirmations().empty());
}
