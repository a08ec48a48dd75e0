// Result<T>: the one error mechanism below cmd/. Fallible functions return
// Result<T>; context is added on the way up ("pull alpine: blob sha256:..: HTTP 401").
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace util {

// Each code maps to one CLI exit status (cmd/exit_code.hpp).
enum class ErrorCode {
  Usage,        // bad command line
  Config,       // bad Matchlockfile / user config
  Io,           // filesystem or syscall failure
  Network,      // registry / HTTP / socket failure
  Integrity,    // digest or size mismatch, corrupt data
  NotFound,     // missing image, sandbox, task, file
  Unsupported,  // valid input we refuse (schema1, artifacts, ...)
  Frozen,       // lockfile missing or out of date under --frozen
  Guest,        // the VM or its agent failed
  Denied,       // policy / trust refused
  Internal,     // a bug
};

class Error {
 public:
  Error(ErrorCode code, std::string message, int sys_errno = 0)
      : m_code(code), m_message(std::move(message)), m_errno(sys_errno) {}

  ErrorCode code() const { return m_code; }
  const std::string& message() const { return m_message; }
  // The errno of the failed system call (util::sys_error), else 0. Kept through context().
  int sys_errno() const { return m_errno; }

  // Prefixes "what: " to the message. Returns *this for chaining.
  Error& context(std::string_view what) & {
    m_message.insert(0, std::string(what) + ": ");
    return *this;
  }
  Error&& context(std::string_view what) && {
    m_message.insert(0, std::string(what) + ": ");
    return std::move(*this);
  }

 private:
  ErrorCode m_code;
  std::string m_message;
  int m_errno = 0;
};

inline Error make_error(ErrorCode code, std::string message) { return Error(code, std::move(message)); }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const { return m_v.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  T&& value() && { return std::get<0>(std::move(m_v)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  Error& error() & { return std::get<1>(m_v); }
  const Error& error() const& { return std::get<1>(m_v); }
  Error&& error() && { return std::get<1>(std::move(m_v)); }

 private:
  std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)), m_ok(false) {}  // NOLINT

  bool has_value() const { return m_ok; }
  explicit operator bool() const { return m_ok; }
  void value() const {}

  Error& error() & { return m_error; }
  const Error& error() const& { return m_error; }
  Error&& error() && { return std::move(m_error); }

 private:
  Error m_error{ErrorCode::Internal, ""};
  bool m_ok = true;
};

inline Result<void> ok() { return {}; }

}  // namespace util

// ML_TRY(expr): evaluate a Result; on error return it from the enclosing
// function, else yield the value. ML_TRY_CTX adds "ctx: " to the error.
#define ML_TRY(expr)                                               \
  ({                                                               \
    auto&& ml_try_result_ = (expr);                                \
    if (!ml_try_result_) return std::move(ml_try_result_).error(); \
    std::move(ml_try_result_).value();                             \
  })

#define ML_TRY_CTX(expr, ctx)                                                   \
  ({                                                                            \
    auto&& ml_try_result_ = (expr);                                             \
    if (!ml_try_result_) return std::move(ml_try_result_).error().context(ctx); \
    std::move(ml_try_result_).value();                                          \
  })
