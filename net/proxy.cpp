#include "net/proxy.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <atomic>
#include <functional>

#include "net/proxy_shared.hpp"
#include "util/allocator.hpp"

namespace net {

namespace {

// A flow's worker needs tens of KiB of stack (16 KiB copy buffers, OpenSSL, getaddrinfo);
// std::thread's default would reserve 8 MiB of address space per flow. The stack is ours
// (mapped per worker, unmapped when it is joined): glibc would keep up to 40 MiB of exited
// threads' stacks cached, each with its used pages still resident.
constexpr size_t k_worker_stack = 512 * 1024;
constexpr size_t k_guard = 4096;  // below the stack: an overflow faults instead of corrupting
// Memory is handed back once the proxy is idle, or after this many flows and a second.
constexpr size_t k_trim_after_flows = 64;
constexpr int64_t k_trim_interval_ms = 1000;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

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
  pthread_t thread{};
  void* stack = MAP_FAILED;  // guard page + stack
  std::function<void()> body;
  std::atomic<bool> done{false};

  ~Worker() {  // only once joined (or never started)
    if (stack != MAP_FAILED) ::munmap(stack, k_guard + k_worker_stack);
  }

  static void* main(void* self) {
    auto* w = static_cast<Worker*>(self);
    w->body();
    w->body = nullptr;  // what it captured (the flow's fd) goes now, not at the next reap
    w->done.store(true);
    return nullptr;
  }
  // Starts main() on a thread with its own k_worker_stack stack.
  bool start() {
    stack = ::mmap(nullptr, k_guard + k_worker_stack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                   -1, 0);
    if (stack == MAP_FAILED || ::mprotect(stack, k_guard, PROT_NONE) != 0) return false;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) return false;
    bool ok = pthread_attr_setstack(&attr, static_cast<char*>(stack) + k_guard, k_worker_stack) == 0 &&
              pthread_create(&thread, &attr, &Worker::main, this) == 0;
    pthread_attr_destroy(&attr);
    return ok;
  }
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
  for (auto& w : m_workers) pthread_join(w->thread, nullptr);
}

void Proxy::reap_finished() {
  std::erase_if(m_workers, [](const std::unique_ptr<Worker>& w) {
    if (!w->done.load()) return false;
    pthread_join(w->thread, nullptr);
    return true;
  });
}

bool Proxy::admit(const FlowInfo& info) {
  std::lock_guard lock(m_mutex);
  reap_finished();
  if (m_shared->stopping()) return false;
  if (m_live.load() < m_shared->options.max_flows) return true;
  refuse_over_cap(info);
  return false;
}

void Proxy::handle(const FlowInfo& info, util::Fd stream) {
  auto fd = std::make_shared<util::Fd>(std::move(stream));
  std::lock_guard lock(m_mutex);
  // Admitted at the SYN, but the cap may have filled up before the handshake completed:
  // then the fd closes, and the guest sees a reset.
  start_worker(info, [info, fd](ProxyShared& shared) { run_flow(shared, info, std::move(*fd)); });
}

bool Proxy::handle_client(const FlowInfo& peer, util::Fd client, std::function<void()> finished) {
  auto fd = std::make_shared<util::Fd>(std::move(client));
  std::lock_guard lock(m_mutex);
  return start_worker(peer, [peer, fd, finished = std::move(finished)](ProxyShared& shared) {
    run_explicit_client(shared, peer, std::move(*fd));
    if (finished) finished();
  });
}

bool Proxy::start_worker(const FlowInfo& info, std::function<void(ProxyShared&)> body) {
  reap_finished();
  if (m_shared->stopping()) return false;  // closing the fd resets the connection
  if (m_live.load() >= m_shared->options.max_flows) {
    refuse_over_cap(info);
    return false;
  }
  auto worker = std::make_unique<Worker>();
  auto shared = m_shared;
  worker->body = [this, shared, body = std::move(body)] {
    body(*shared);
    worker_finished();
  };
  ++m_live;
  if (!worker->start()) {
    --m_live;
    return false;  // out of threads: the fd closes, the guest sees a refusal
  }
  m_workers.push_back(std::move(worker));
  return true;
}

// At the cap: the guest gets RST (the caller refuses). Audited, but at most once a second
// (a flood must not turn into a flood of log lines). Called with m_mutex held.
void Proxy::refuse_over_cap(const FlowInfo& info) {
  ++m_unaudited_refusals;
  auto now = std::chrono::steady_clock::now();
  if (now - m_last_cap_audit < std::chrono::seconds(1)) return;
  m_last_cap_audit = now;
  AuditEvent e;
  e.kind = AuditKind::Tcp;
  e.name = info.dst_name;
  e.address = info.dst_ip.to_string();
  e.port = info.dst_port;
  e.allowed = false;
  e.reason = "sandbox flow limit: " + std::to_string(m_shared->options.max_flows) + " concurrent flows (" +
             std::to_string(m_unaudited_refusals) + " refused since the last record)";
  m_unaudited_refusals = 0;
  m_shared->audit(std::move(e));
}

// On the finishing worker: after a burst, or once nothing runs, freed memory goes back to
// the OS (glibc keeps freed heap and per-thread arenas mapped otherwise).
void Proxy::worker_finished() {
  size_t live = --m_live;
  size_t finished = ++m_finished_since_trim;
  int64_t now = now_ms();
  if (live > 0 && (finished < k_trim_after_flows || now - m_last_trim_ms.load() < k_trim_interval_ms)) return;
  m_finished_since_trim = 0;
  m_last_trim_ms = now;
  util::release_free_memory();
}

size_t Proxy::active_flows() const { return m_live.load(); }

}  // namespace net
