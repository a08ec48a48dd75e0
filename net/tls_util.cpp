#include "net/tls_util.hpp"

#include <openssl/err.h>

#include <string>

namespace net {

util::Error tls_error(std::string_view what) {
  std::string msg(what);
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return util::make_error(util::ErrorCode::Network, msg);
}

}  // namespace net
