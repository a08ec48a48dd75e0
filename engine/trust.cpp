#include "engine/trust.hpp"

#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"

namespace engine {

namespace {

constexpr std::string_view k_deny = "network deny ";

std::string inject_text(const InjectSet& i) {
  std::string out;
  for (auto [on, name] : {std::pair{i.header, "header"}, std::pair{i.query, "query"}, std::pair{i.basic, "basic"}})
    if (on) out += (out.empty() ? "" : ",") + std::string(name);
  return out.empty() ? "none" : out;
}

}  // namespace

std::vector<std::string> trust_grants(const Config& c) {
  std::vector<std::string> g;
  for (const auto& r : c.network.allow) g.push_back("network allow " + r.to_string());
  for (const auto& r : c.network.deny) g.push_back(std::string(k_deny) + r.to_string());
  if (!c.network.block_private) g.push_back("network block_private off");
  if (!c.network.ca.empty()) g.push_back("network ca " + c.network.ca.string());
  for (const auto& s : c.network.services) g.push_back("network service " + s.text());
  for (const auto& s : c.secrets) {
    for (const auto& h : s.hosts)
      g.push_back("secret " + s.name + " from " + s.from_text + " to " + h.to_string() + " inject " +
                  inject_text(s.inject));
    if (!s.file.empty()) {
      std::string fields;
      for (const auto& f : s.json) fields += (fields.empty() ? "" : ",") + f;
      g.push_back("secret " + s.name + " file " + s.file +
                  (s.json.empty() ? (s.file_template ? " (template)" : " (placeholder)") : " (json " + fields + ")"));
    }
  }
  for (const auto& m : c.mounts)
    g.push_back("mount " + mount_source_label(m) + " -> " + m.target + " " + to_string(m.mode));
  for (const auto& p : c.ports) g.push_back("port " + std::to_string(p.host) + " -> " + std::to_string(p.guest));
  if (c.ports_auto) g.push_back("port auto (each guest listener on 127.0.0.1 at a host port the kernel picks)");
  std::sort(g.begin(), g.end());
  g.erase(std::unique(g.begin(), g.end()), g.end());
  return g;
}

std::string grants_hash(const std::vector<std::string>& grants) {
  std::string all;
  for (const auto& g : grants) all += g + "\n";
  return util::sha256_hex(all);
}

std::vector<std::string> widenings(const std::vector<std::string>& approved, const std::vector<std::string>& grants) {
  std::set<std::string> old(approved.begin(), approved.end()), now(grants.begin(), grants.end());
  std::vector<std::string> out;
  for (const auto& g : grants)
    if (!g.starts_with(k_deny) && !old.count(g)) out.push_back(g);
  for (const auto& g : approved)
    if (g.starts_with(k_deny) && !now.count(g)) out.push_back("removed: " + g);
  return out;
}

std::filesystem::path approval_path(const util::Dirs& dirs, const std::filesystem::path& matchlockfile) {
  std::error_code ec;
  auto abs = std::filesystem::weakly_canonical(std::filesystem::absolute(matchlockfile, ec), ec);
  return dirs.state / "approvals" / (util::sha256_hex(abs.string()) + ".json");
}

util::Result<std::vector<std::string>> load_approval(const util::Dirs& dirs,
                                                     const std::filesystem::path& matchlockfile) {
  auto path = approval_path(dirs, matchlockfile);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::vector<std::string>{};
  auto text = ML_TRY(util::read_file(path));
  try {
    auto j = nlohmann::json::parse(text);
    auto grants = j.at("grants").get<std::vector<std::string>>();
    if (j.value("hash", "") != grants_hash(grants))
      return util::make_error(util::ErrorCode::Integrity, "approval " + path.string() + " does not match its hash");
    return grants;
  } catch (const nlohmann::json::exception& e) {
    return util::make_error(util::ErrorCode::Integrity, "approval " + path.string() + ": " + e.what());
  }
}

util::Result<void> save_approval(const util::Dirs& dirs, const std::filesystem::path& matchlockfile,
                                 const std::vector<std::string>& grants) {
  auto path = approval_path(dirs, matchlockfile);
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return util::make_error(util::ErrorCode::Io, "create " + path.parent_path().string() + ": " + ec.message());
  nlohmann::ordered_json j;
  j["path"] = std::filesystem::absolute(matchlockfile, ec).string();
  j["hash"] = grants_hash(grants);
  j["grants"] = grants;
  return util::write_file_atomic(path, j.dump(2) + "\n", 0600);
}

util::Result<void> ensure_trusted(const util::Dirs& dirs, const Config& config, TrustFlag flag, int in_fd,
                                  std::FILE* out) {
  auto grants = trust_grants(config);
  auto approved = ML_TRY(load_approval(dirs, config.file));
  bool first = !std::filesystem::exists(approval_path(dirs, config.file));
  auto wider = widenings(approved, grants);
  if (!first && wider.empty()) return util::ok();
  if (flag == TrustFlag::Granted) return save_approval(dirs, config.file, grants);
  std::string what =
      first ? "the first use of " + config.file.string() : config.file.string() + " widened what the sandbox may reach";
  if (!::isatty(in_fd))
    return util::make_error(util::ErrorCode::Denied,
                            what + " needs approval: run on a terminal to review it, or pass --trust (CI)");
  std::fprintf(out, "matchlock: %s. The sandbox \"%s\" would be allowed:\n", what.c_str(), config.name.c_str());
  for (const auto& g : grants) std::fprintf(out, "  %s\n", g.c_str());
  if (grants.empty()) std::fprintf(out, "  (no network, no secrets, no mounts)\n");
  if (!config.policy.files.empty()) {
    // The machine's policy.toml (engine/machine_policy.hpp): shown, not part of the approval.
    std::fprintf(out, "The machine policy (");
    for (size_t i = 0; i < config.policy.files.size(); ++i)
      std::fprintf(out, "%s%s", i ? ", " : "", config.policy.files[i].c_str());
    std::fprintf(out, ") also:\n");
    for (const auto& a : config.policy.allowed) std::fprintf(out, "  allows everywhere: %s\n", a.c_str());
    for (const auto& r : config.policy.deny) std::fprintf(out, "  never allows: %s\n", r.to_string().c_str());
    for (const auto& c : config.policy.cut) std::fprintf(out, "  cuts: %s\n", c.c_str());
    if (config.policy.allowed.empty() && config.policy.deny.empty() && config.policy.cut.empty())
      std::fprintf(out, "  (changes nothing here)\n");
  }
  if (!first) {
    std::fprintf(out, "New since the last approval:\n");
    for (const auto& w : wider) std::fprintf(out, "  + %s\n", w.c_str());
  }
  std::fprintf(out, "Trust this policy? [y/N] ");
  std::fflush(out);
  std::string answer;
  char ch = 0;
  while (::read(in_fd, &ch, 1) == 1 && ch != '\n') answer += ch;
  if (answer == "y" || answer == "Y" || answer == "yes") return save_approval(dirs, config.file, grants);
  return util::make_error(util::ErrorCode::Denied, "policy of " + config.file.string() + " not trusted");
}

}  // namespace engine
