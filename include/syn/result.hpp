#pragma once
/// \file
/// Result<T>: a value or an Errc, with the semantics of std::expected<T, Errc>.

#include <syn/errors.hpp>
#include <tl/expected.hpp>

#include <type_traits>
#include <utility>

namespace syn {

/// Value or error code; semantics of std::expected<T, Errc>: has_value(), explicit operator
/// bool, value(), error(), operator*, operator->. Result<void> exists.
///
/// Built on tl::expected (Debian's libexpected-dev), so it converts from tl::unexpected<Errc>:
/// `return syn::unexpected(Errc::taken);`.
///
/// [[nodiscard]]: a call that can fail returns a Result, and dropping it unread drops its error;
/// the compiler warns. Cast to void to drop one on purpose.
template <class T>
class [[nodiscard]] Result : public tl::expected<T, Errc> {
  using base = tl::expected<T, Errc>;

 public:
  using base::base;
  /// Adopts a tl::expected of the same shape.
  Result(base other) : base(std::move(other)) {}  // NOLINT(google-explicit-constructor)

  using base::value;
  using base::operator*;

  /// Result<void>: returns when the call succeeded, throws tl::bad_expected_access<Errc> with
  /// the code when it failed, as std::expected<void, E>::value() does (tl::expected 1.0 has no
  /// value() for void: `reg.register_name(n, p).value();` would not compile).
  void value() const requires std::is_void_v<T> {
    if (!this->has_value()) throw tl::bad_expected_access<Errc>(this->error());
  }
  /// Result<void>: nothing to read, as std::expected<void, E>'s operator*.
  void operator*() const noexcept requires std::is_void_v<T> {}

  /// Equal when both hold equal values (Result<void>: both succeeded) or the same error, as
  /// std::expected's ==; tl::expected 1.0's dereferences both sides, which void cannot. A
  /// template for two Results of the same type only, so that no conversion makes it a
  /// candidate beside tl::expected's `r == 7` and `r == syn::unexpected(e)`.
  template <class A, class B>
  requires std::is_same_v<A, Result> && std::is_same_v<B, Result>
  friend bool operator==(const A& a, const B& b) {
    if (a.has_value() != b.has_value()) return false;
    if (!a.has_value()) return a.error() == b.error();
    if constexpr (std::is_void_v<T>) {
      return true;
    } else {
      return *a == *b;
    }
  }
  template <class A, class B>
  requires std::is_same_v<A, Result> && std::is_same_v<B, Result>
  friend bool operator!=(const A& a, const B& b) { return !(a == b); }
};

/// The error side of a Result: `return syn::unexpected(Errc::not_alive);`.
inline tl::unexpected<Errc> unexpected(Errc code) { return tl::unexpected<Errc>(code); }

}  // namespace syn
