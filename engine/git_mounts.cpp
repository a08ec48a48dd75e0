#include "engine/git_mounts.hpp"

#include <nlohmann/json.hpp>

#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "workspace/git_clone.hpp"

namespace engine {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path git_dir(const fs::path& state_dir) { return state_dir / "git"; }

std::string mount_key(const std::string& target) {
  std::string key;
  for (char c : target) {
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    key += safe ? c : '_';
  }
  while (!key.empty() && key.front() == '_') key.erase(0, 1);
  return key.empty() ? "root" : key;
}

std::string short_oid(const std::string& oid) { return oid.substr(0, 10); }

}  // namespace

util::Result<fs::path> git_mount_source(const Mount& mount, const fs::path& state_dir, std::string_view sandbox) {
  if (mount.mode != MountMode::Git) return mount.source;
  std::string key = mount_key(mount.target);
  fs::path dir = git_dir(state_dir);
  ML_TRY(util::make_dirs(dir, 0700));
  json meta = {{"repo", mount.source.string()}, {"target", mount.target}};
  ML_TRY(util::write_file_atomic(dir / (key + ".json"), meta.dump(2) + "\n", 0600));
  auto clone = ML_TRY_CTX(workspace::prepare_git_clone(mount.source, dir / key, sandbox), "git mount " + mount.target);
  return clone.dir;
}

util::Result<std::vector<GitFetchReport>> fetch_git_mounts(const fs::path& state_dir, std::string_view sandbox) {
  std::vector<GitFetchReport> reports;
  fs::path dir = git_dir(state_dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return reports;
  std::vector<fs::path> metas;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".json" && e.is_regular_file()) metas.push_back(e.path());
  if (ec) return util::sys_error_code(ec.value(), "list", dir);
  std::sort(metas.begin(), metas.end());
  for (const auto& meta_path : metas) {
    GitFetchReport report;
    report.clone = dir / meta_path.stem();
    try {
      json meta = json::parse(ML_TRY(util::read_file(meta_path)));
      report.repo = meta.at("repo").get<std::string>();
      report.target = meta.at("target").get<std::string>();
    } catch (const json::exception& e) {
      return util::make_error(util::ErrorCode::Io, meta_path.string() + ": " + e.what());
    }
    if (!fs::exists(report.clone / ".git", ec)) continue;  // already fetched and removed
    auto r = workspace::fetch_branches(report.clone, report.repo, sandbox);
    if (r) {
      report.updates = std::move(*r);
    } else {
      report.error = r.error().message();
    }
    reports.push_back(std::move(report));
  }
  return reports;
}

util::Result<void> remove_git_clones(const fs::path& state_dir) {
  std::error_code ec;
  fs::remove_all(git_dir(state_dir), ec);
  if (ec) return util::sys_error_code(ec.value(), "remove", git_dir(state_dir));
  return util::ok();
}

std::vector<std::string> describe_fetch(const std::vector<GitFetchReport>& reports) {
  std::vector<std::string> lines;
  for (const auto& r : reports) {
    std::string where = r.repo.string() + ": ";
    if (!r.error.empty()) {
      lines.push_back(where + "error: " + r.error);
      continue;
    }
    if (r.updates.empty()) lines.push_back(where + "up to date");
    for (const auto& u : r.updates) {
      std::string branch = u.ref.substr(std::string_view("refs/heads/").size());
      if (u.skipped)
        lines.push_back(where + branch + " not updated (checked out; the sandbox has " + short_oid(u.new_oid) + ")");
      else if (u.old_oid.empty())
        lines.push_back(where + branch + " new " + short_oid(u.new_oid));
      else
        lines.push_back(where + branch + " " + short_oid(u.old_oid) + " -> " + short_oid(u.new_oid));
    }
  }
  return lines;
}

}  // namespace engine
