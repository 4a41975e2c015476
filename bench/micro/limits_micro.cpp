// What the max_term_bytes checks (SPEC 7) add to the hot paths. A write already encodes its
// name and meta, so its check is a size comparison; a send, publish or multi_call walks the
// message once without encoding it (wire::fits_within). Compared here with the encoding every
// remote send pays anyway.
#include "wire/term_codec.hpp"

#include <benchmark/benchmark.h>

#include <syn/term.hpp>

namespace {

syn::Term small_message() { return syn::Term{{"op", "set"}, {"key", "device:4711"}, {"value", 42}}; }

syn::Term chat_message() {
  return syn::Term{{"from", "alice"}, {"room", "lobby"}, {"text", std::string(120, 'x')}, {"ts", 1733300000123}};
}

void limit_check_small(benchmark::State& state) {
  auto message = small_message();
  for (auto _ : state) benchmark::DoNotOptimize(syn::wire::fits_within(message, 1u << 20));
}
BENCHMARK(limit_check_small);

void encode_small(benchmark::State& state) {
  auto message = small_message();
  for (auto _ : state) benchmark::DoNotOptimize(syn::wire::canonical(message));
}
BENCHMARK(encode_small);

void limit_check_chat(benchmark::State& state) {
  auto message = chat_message();
  for (auto _ : state) benchmark::DoNotOptimize(syn::wire::fits_within(message, 1u << 20));
}
BENCHMARK(limit_check_chat);

void encode_chat(benchmark::State& state) {
  auto message = chat_message();
  for (auto _ : state) benchmark::DoNotOptimize(syn::wire::canonical(message));
}
BENCHMARK(encode_chat);

void limit_check_string_name(benchmark::State& state) {
  syn::Term name = "device:4711";
  for (auto _ : state) benchmark::DoNotOptimize(syn::wire::fits_within(name, 1u << 20));
}
BENCHMARK(limit_check_string_name);

}  // namespace
