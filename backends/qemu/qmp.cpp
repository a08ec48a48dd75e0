#include "backends/qemu/qmp.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

namespace backends::qemu {

using nlohmann::json;
using namespace std::chrono_literals;

namespace {
constexpr size_t k_max_line = 1 << 20;  // a QMP reply we ask for is small
}

std::string shell_quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

util::Result<Qmp> Qmp::connect(const std::filesystem::path& socket_path, std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  util::Fd dir;
  std::string name = socket_path.string();
  if (name.size() >= sizeof addr.sun_path) {  // long state dirs: through an fd of the directory
    dir = ML_TRY(util::open_fd(socket_path.parent_path(), O_PATH | O_DIRECTORY));
    name = "/proc/self/fd/" + std::to_string(dir.get()) + "/" + socket_path.filename().string();
  }
  std::memcpy(addr.sun_path, name.c_str(), name.size() + 1);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    util::Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) return util::sys_error("socket");
    if (util::retry_eintr([&] { return ::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr); }) ==
        0) {
      Qmp q(std::move(sock));
      ML_TRY_CTX(q.read_line(timeout), "qmp greeting");
      ML_TRY_CTX(q.execute("qmp_capabilities"), "qmp");
      return q;
    }
    int err = errno;
    if ((err != ENOENT && err != ECONNREFUSED) || std::chrono::steady_clock::now() > deadline)
      return util::sys_error_code(err, "connect", socket_path);
    std::this_thread::sleep_for(5ms);
  }
}

util::Result<std::string> Qmp::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto nl = m_buffer.find('\n'); nl != std::string::npos) {
      std::string line = m_buffer.substr(0, nl);
      m_buffer.erase(0, nl + 1);
      return line;
    }
    if (m_buffer.size() > k_max_line) return util::make_error(util::ErrorCode::Guest, "qmp: reply line too long");
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return util::make_error(util::ErrorCode::Guest, "qmp: no reply in time");
    pollfd p{m_fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) return util::sys_error("poll", "qmp");
    if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buf[4096];
    ssize_t n = util::retry_eintr([&] { return ::read(m_fd.get(), buf, sizeof buf); });
    if (n < 0) return util::sys_error("read", "qmp");
    if (n == 0) return util::make_error(util::ErrorCode::Guest, "qmp: qemu closed the connection");
    m_buffer.append(buf, static_cast<size_t>(n));
  }
}

util::Result<std::string> Qmp::execute(const std::string& command, const std::string& arguments_json) {
  json args;
  try {
    args = json::parse(arguments_json);
  } catch (const json::exception& e) {
    return util::make_error(util::ErrorCode::Internal, "qmp " + command + ": bad arguments: " + e.what());
  }
  std::string request = json{{"execute", command}, {"arguments", args}}.dump() + "\n";
  ML_TRY_CTX(util::write_all(m_fd.get(), request), "qmp " + command);
  for (;;) {
    std::string line = ML_TRY_CTX(read_line(30s), "qmp " + command);
    json reply;
    try {
      reply = json::parse(line);
    } catch (const json::exception& e) {
      return util::make_error(util::ErrorCode::Guest, "qmp " + command + ": unparsable reply: " + e.what());
    }
    if (!reply.is_object() || reply.contains("event")) continue;
    if (auto r = reply.find("return"); r != reply.end()) return r->dump();
    if (auto e = reply.find("error"); e != reply.end() && e->is_object())
      return util::make_error(util::ErrorCode::Guest, "qmp " + command + ": " + e->value("desc", std::string("error")));
  }
}

namespace {
const char* const k_ignore_shared = R"({"capabilities": [{"capability": "x-ignore-shared", "state": true}]})";
}

util::Result<void> Qmp::save_to(const std::filesystem::path& path, std::chrono::milliseconds timeout) {
  ML_TRY(execute("migrate-set-capabilities", k_ignore_shared));
  ML_TRY(execute("stop"));
  ML_TRY(execute("migrate", json{{"uri", "exec:cat > " + shell_quote(path.string())}}.dump()));
  return wait_migration(timeout);
}

util::Result<void> Qmp::restore_from(int state_fd, std::chrono::milliseconds timeout) {
  ML_TRY(execute("migrate-set-capabilities", k_ignore_shared));
  ML_TRY(execute("migrate-incoming", json{{"uri", "fd:" + std::to_string(state_fd)}}.dump()));
  ML_TRY(wait_migration(timeout));
  ML_TRY(execute("cont"));
  return util::ok();
}

util::Result<void> Qmp::wait_migration(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::string text = ML_TRY(execute("query-migrate"));
    json r = json::parse(text, nullptr, false);
    std::string status = r.is_object() ? r.value("status", std::string()) : std::string();
    if (status == "completed") return util::ok();
    if (status == "failed" || status == "cancelled")
      return util::make_error(util::ErrorCode::Guest, "qemu migrate " + status + ": " +
                                                          (r.is_object() ? r.value("error-desc", std::string()) : ""));
    if (std::chrono::steady_clock::now() > deadline) {
      (void)execute("migrate_cancel");
      return util::make_error(util::ErrorCode::Guest, "qemu migrate did not complete in time");
    }
    std::this_thread::sleep_for(5ms);
  }
}

}  // namespace backends::qemu
