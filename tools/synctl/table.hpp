#pragma once
// Aligned text tables for synctl's human output: a header row, then rows, each column as wide
// as its widest cell, two spaces apart.
#include <cstdio>
#include <string>
#include <vector>

namespace synctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  /// Prints the header and the rows to `out`.
  void print(std::FILE* out = stdout) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace synctl
