#include "net/proxy.hpp"

#include <sys/socket.h>

#include <atomic>
#include <system_error>
#include <thread>

#include "net/proxy_shared.hpp"

namespace net {

std::function<bool(std::string_view)> dns_filter(Policy policy, std::shared_ptr<Audit> audit) {
  return [policy = std::move(policy), audit = std::move(audit)](std::string_view name) {
    Decision d = policy.decide_dns(name);
    if (!d.allowed() && audit) {
      AuditEvent e;
      e.kind = AuditKind::Dns;
      e.name = std::string(name);
      e.port = 53;
      e.rule = d.rule;
      e.reason = d.reason;
      audit->record(std::move(e));
    }
    return d.allowed();
  };
}

void ProxyShared::audit(AuditEvent event) const {
  if (!options.audit) return;
  for (std::string* text : {&event.name, &event.address, &event.rule, &event.reason, &event.method, &event.path})
    scrub(*text);
  options.audit->record(std::move(event));
}

bool ProxyShared::track(int fd) {
  std::lock_guard lock(m_mutex);
  if (m_stopping) return false;
  m_fds.insert(fd);
  return true;
}

void ProxyShared::untrack(int fd) {
  std::lock_guard lock(m_mutex);
  m_fds.erase(fd);
}

void ProxyShared::shutdown_all() {
  std::lock_guard lock(m_mutex);
  m_stopping = true;
  for (int fd : m_fds) ::shutdown(fd, SHUT_RDWR);
}

struct Proxy::Worker {
  std::thread thread;
  std::atomic<bool> done{false};
};

util::Result<std::unique_ptr<Proxy>> Proxy::create(ProxyOptions options) {
  if (options.secrets && !options.secrets->empty() && !options.ca)
    return util::make_error(util::ErrorCode::Internal, "proxy: secrets need a sandbox CA");
  std::unique_ptr<Proxy> proxy(new Proxy());
  proxy->m_shared = std::make_shared<ProxyShared>();
  proxy->m_shared->options = std::move(options);
  ML_TRY_CTX(init_tls_contexts(*proxy->m_shared), "proxy");
  return proxy;
}

Proxy::~Proxy() {
  if (!m_shared) return;
  m_shared->shutdown_all();
  std::lock_guard lock(m_mutex);
  for (auto& w : m_workers) w->thread.join();
}

void Proxy::reap_finished() {
  std::erase_if(m_workers, [](const std::unique_ptr<Worker>& w) {
    if (!w->done.load()) return false;
    w->thread.join();
    return true;
  });
}

void Proxy::handle(const FlowInfo& info, util::Fd stream) {
  std::lock_guard lock(m_mutex);
  reap_finished();
  if (m_shared->stopping()) return;  // closing the fd refuses the connection
  auto worker = std::make_unique<Worker>();
  Worker* w = worker.get();
  auto shared = m_shared;
  auto fd = std::make_shared<util::Fd>(std::move(stream));
  try {
    w->thread = std::thread([shared, info, fd, w] {
      run_flow(*shared, info, std::move(*fd));
      w->done.store(true);
    });
  } catch (const std::system_error&) {
    return;  // out of threads: the fd closes, the guest sees a refusal
  }
  m_workers.push_back(std::move(worker));
}

size_t Proxy::active_flows() const {
  std::lock_guard lock(m_mutex);
  size_t n = 0;
  for (const auto& w : m_workers) n += w->done.load() ? 0 : 1;
  return n;
}

}  // namespace net
