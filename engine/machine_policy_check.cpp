// policy.toml against one Matchlockfile: violations (refused) and effects (recorded).
#include <algorithm>

#include "engine/machine_policy.hpp"
#include "util/size.hpp"

namespace engine {

namespace fs = std::filesystem;

namespace {

std::string canonical_text(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(p, ec);
  return (ec ? p : c).lexically_normal().string();
}

bool under(const std::string& path, const std::string& dir) {
  return path == dir || dir == "/" || path.starts_with(dir.ends_with('/') ? dir : dir + "/");
}

std::string source_name(SecretSource s) { return to_string(s); }

class Checker {
 public:
  Checker(Config& config, const MachinePolicy& policy, Diagnostics& diags)
      : m_config(config), m_policy(policy), m_diags(diags) {}

  void run() {
    network();
    secrets();
    mounts();
    sandbox();
  }

 private:
  std::string where(int line) const { return m_policy.file.string() + ":" + std::to_string(line); }
  void violation(std::string_view key, int line, const std::string& message) {
    SourcePos pos = m_config.pos(key);
    if (!pos.known()) pos = {1, 1};
    m_diags.add(pos, "exceeds " + where(line) + ": " + message);
  }

  // A rule the Matchlockfile lets out: inside a policy deny -> refused; overlapping one -> cut.
  void check_rule(const net::Rule& rule, const std::string& key, const std::string& what) {
    for (const auto& d : m_policy.deny) {
      if (net::rule_within(rule, d.value)) {
        violation(
            key, d.line,
            what + " \"" + rule.to_string() + "\" is never allowed (network.deny \"" + d.value.to_string() + "\")");
        return;
      }
    }
    for (const auto& d : m_policy.deny)
      if (net::rules_overlap(rule, d.value))
        m_config.policy.cut.push_back(what + " " + rule.to_string() + ": except " + d.value.to_string() + " (" +
                                      where(d.line) + ")");
  }

  void network() {
    for (size_t i = 0; i < m_config.network.allow.size(); ++i)
      check_rule(m_config.network.allow[i], "network.allow[" + std::to_string(i) + "]", "network.allow");
    if (!m_config.network.block_private && m_policy.block_private_off && !m_policy.block_private_off->value)
      violation("network.block_private", m_policy.block_private_off->line,
                "network.block_private = false is not permitted (network.allow_block_private_off = false)");
    for (const auto& d : m_policy.deny) {
      add_unique(m_config.policy.deny, d.value);
    }
    for (const auto& a : m_policy.allow) {
      bool denied_here = std::any_of(m_config.network.deny.begin(), m_config.network.deny.end(),
                                     [&](const net::Rule& d) { return net::rule_within(a.value, d); });
      if (denied_here) continue;  // the Matchlockfile's own deny wins
      if (add_unique(m_config.policy.allow, a.value))
        m_config.policy.allowed.push_back("network allow " + a.value.to_string() + " (" + where(a.line) + ")");
    }
  }

  void secrets() {
    for (const auto& s : m_config.secrets) {
      std::string p = "secrets." + s.name;
      if (m_policy.secret_sources) {
        const auto& kinds = m_policy.secret_sources->value;
        if (std::find(kinds.begin(), kinds.end(), s.source) == kinds.end()) {
          std::string allowed;
          for (auto k : kinds) allowed += (allowed.empty() ? "" : ", ") + source_name(k);
          violation(p + ".from", m_policy.secret_sources->line,
                    p + ".from uses a " + source_name(s.source) + ": source; secrets.sources permits " +
                        (allowed.empty() ? "none" : allowed));
        }
      }
      if (!s.file.empty() && m_policy.secret_files && !m_policy.secret_files->value)
        violation(p + ".file", m_policy.secret_files->line,
                  p + ".file: secrets delivered as files are not permitted (secrets.files = false)");
      for (size_t i = 0; i < s.hosts.size(); ++i)
        check_rule(s.hosts[i], p + ".hosts[" + std::to_string(i) + "]", p + ".hosts");
    }
  }

  void mounts() {
    std::string project = canonical_text(m_config.base_dir);
    for (size_t i = 0; i < m_config.mounts.size(); ++i) {
      const Mount& m = m_config.mounts[i];
      std::string p = "mounts[" + std::to_string(i) + "]";
      if (!m.volume.empty()) {
        if (m_policy.volumes && !m_policy.volumes->value)
          violation(p + ".volume", m_policy.volumes->line,
                    p + ".volume \"" + m.volume + "\": named volumes are not permitted (mounts.volumes = false)");
        continue;
      }
      if (!m_policy.outside) continue;
      // Symlinks resolved: a committed link ./data -> ~/.ssh is outside the project.
      std::string source = canonical_text(m.source);
      if (under(source, project)) continue;
      bool permitted = std::any_of(m_policy.outside->value.begin(), m_policy.outside->value.end(),
                                   [&](const fs::path& dir) { return under(source, canonical_text(dir)); });
      if (permitted) continue;
      std::string shown = source == m.source.string() ? source : m.source.string() + " (resolves to " + source + ")";
      violation(p + ".source", m_policy.outside->line,
                p + ".source " + shown + " lies outside the project " + project +
                    " and outside every mounts.outside_project directory");
    }
  }

  void sandbox() {
    const Sandbox& s = m_config.sandbox;
    auto written = [&](const char* key) {
      return m_config.pos(std::string("sandbox.") + key) != m_config.pos("sandbox");
    };
    if (m_policy.max_cpus && s.cpus > m_policy.max_cpus->value)
      violation("sandbox.cpus", m_policy.max_cpus->line,
                "sandbox.cpus " + std::to_string(s.cpus) + (written("cpus") ? "" : " (the default)") +
                    " is more than max_cpus " + std::to_string(m_policy.max_cpus->value));
    if (m_policy.max_memory && s.memory_bytes > m_policy.max_memory->value)
      violation("sandbox.memory", m_policy.max_memory->line,
                "sandbox.memory " + util::format_size(s.memory_bytes) + (written("memory") ? "" : " (the default)") +
                    " is more than max_memory " + util::format_size(m_policy.max_memory->value));
    if (m_policy.max_disk && s.disk_bytes > m_policy.max_disk->value)
      violation("sandbox.disk", m_policy.max_disk->line,
                "sandbox.disk " + util::format_size(s.disk_bytes) + (written("disk") ? "" : " (the default)") +
                    " is more than max_disk " + util::format_size(m_policy.max_disk->value));
  }

  static bool add_unique(std::vector<net::Rule>& v, const net::Rule& r) {
    if (std::find(v.begin(), v.end(), r) != v.end()) return false;
    v.push_back(r);
    return true;
  }

  Config& m_config;
  const MachinePolicy& m_policy;
  Diagnostics& m_diags;
};

}  // namespace

void apply_machine_policies(Config& config, const std::vector<MachinePolicy>& policies, Diagnostics& diags) {
  config.policy = {};
  for (const auto& p : policies) {
    config.policy.files.push_back(p.file);
    Checker(config, p, diags).run();
  }
  if (!diags.empty()) config.policy = {};
}

}  // namespace engine
