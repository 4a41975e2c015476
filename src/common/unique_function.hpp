#pragma once
// A move-only std::function (C++23's move_only_function is not in our C++20): closures that
// own promises, buffers and other move-only state.
#include <memory>
#include <type_traits>
#include <utility>

namespace syn::detail {

template <class Signature>
class MoveOnlyFunction;

template <class R, class... Args>
class MoveOnlyFunction<R(Args...)> {
 public:
  MoveOnlyFunction() = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, MoveOnlyFunction>>>
  MoveOnlyFunction(F&& f) : impl_(new Model<std::decay_t<F>>(std::forward<F>(f))) {}  // NOLINT
  MoveOnlyFunction(MoveOnlyFunction&&) noexcept = default;
  MoveOnlyFunction& operator=(MoveOnlyFunction&&) noexcept = default;

  R operator()(Args... args) { return impl_->call(std::forward<Args>(args)...); }
  explicit operator bool() const { return impl_ != nullptr; }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual R call(Args... args) = 0;
  };
  template <class F>
  struct Model final : Concept {
    template <class G>
    explicit Model(G&& g) : fn(std::forward<G>(g)) {}
    R call(Args... args) override { return fn(std::forward<Args>(args)...); }
    F fn;
  };
  std::unique_ptr<Concept> impl_;
};

/// The common case: a task to run later.
using UniqueFunction = MoveOnlyFunction<void()>;

}  // namespace syn::detail
