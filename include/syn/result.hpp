#pragma once
/// \file
/// Result<T>: a value or an Errc, with the semantics of std::expected<T, Errc>.

#include <syn/errors.hpp>
#include <tl/expected.hpp>

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
};

/// The error side of a Result: `return syn::unexpected(Errc::not_alive);`.
inline tl::unexpected<Errc> unexpected(Errc code) { return tl::unexpected<Errc>(code); }

}  // namespace syn
