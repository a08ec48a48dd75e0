// `matchlock render kubernetes`: the Matchlockfile (and its lock) as Kubernetes YAML for
// agent-sandbox and `matchlock gateway` (engine/k8s_render.hpp, docs/kubernetes.md).
// Reads no secret value: secrets become references to Kubernetes Secrets.
#include <cstdio>
#include <filesystem>

#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/config_parse.hpp"
#include "engine/discover.hpp"
#include "engine/k8s_render.hpp"
#include "engine/lockfile.hpp"
#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace cmd {

namespace {

struct Options {
  engine::RenderOptions render;
  std::vector<std::string> secrets;      // NAME=SECRET/KEY
  std::vector<std::string> git_remotes;  // TARGET=URL
  std::vector<std::string> extra_cidrs;
  int warm = -1;  // -1: no pool
  bool warm_given = false;
  std::string output;  // "" = stdout
};

util::Result<int> render_kubernetes(const Context& ctx, Options& opts) {
  for (const auto& s : opts.secrets) {
    auto [name, ref] = ML_TRY(engine::parse_secret_mapping(s));
    opts.render.secret_refs[name] = ref;
  }
  for (const auto& g : opts.git_remotes) {
    auto [target, url] = ML_TRY(engine::parse_git_remote(g));
    opts.render.git_remotes[target] = url;
  }
  for (const auto& c : opts.extra_cidrs) opts.render.cluster_cidrs.push_back(c);
  if (opts.warm_given) opts.render.warm = opts.warm;

  std::error_code ec;
  auto file = ML_TRY(engine::discover_matchlockfile(ctx.file, std::filesystem::current_path(ec)));
  std::string text = ML_TRY(util::read_file(file));
  engine::Config config = ML_TRY(engine::load_config(file));
  auto lock = ML_TRY(engine::Lockfile::load(engine::lockfile_path(file)));
  engine::RenderResult r = ML_TRY(engine::render_kubernetes(config, text, lock, opts.render));
  for (const auto& w : r.warnings) util::log::warn(w);

  if (opts.output.empty()) {
    std::fputs(engine::to_yaml_stream(r.documents).c_str(), stdout);
    return k_exit_ok;
  }
  std::filesystem::path out(opts.output);
  if (std::filesystem::is_directory(out, ec)) {
    // One file per document, for `kubectl apply -f DIR` (applied in name order).
    for (size_t i = 0; i < r.documents.size(); ++i) {
      auto path = out / engine::document_file_name(i, r.documents[i]);
      ML_TRY(util::write_file_atomic(path, engine::to_yaml_stream({r.documents[i]})));
    }
  } else {
    ML_TRY(util::write_file_atomic(out, engine::to_yaml_stream(r.documents)));
  }
  if (!ctx.quiet) std::fprintf(stderr, "wrote %s (%zu objects)\n", out.c_str(), r.documents.size());
  return k_exit_ok;
}

void register_render_kubernetes(CLI::App& render, Context& ctx) {
  auto opts = std::make_shared<Options>();
  auto* sub = render.add_subcommand(
      "kubernetes", "YAML for agent-sandbox + `matchlock gateway`: template, pool, claim, gateway, network policies");
  sub->add_option("-n,--namespace", opts->render.namespace_name, "Namespace of every object (default: none set)")
      ->type_name("NAMESPACE");
  sub->add_option("--runtime-class", opts->render.runtime_class, "RuntimeClass of the sandbox pods")
      ->type_name("NAME")
      ->capture_default_str();
  sub->add_option("--warm", opts->warm, "A SandboxWarmPool of N ready sandboxes")
      ->type_name("N")
      ->each([opts](const std::string&) { opts->warm_given = true; });
  sub->add_flag("--claim", opts->render.claim, "A SandboxClaim too (from the pool; 0 warm sandboxes without --warm)");
  sub->add_option("--gateway-image", opts->render.gateway_image,
                  "Image of `matchlock gateway` (default: ghcr.io/matchlock/matchlock:VERSION)")
      ->type_name("IMAGE");
  sub->add_option("--git-image", opts->render.git_image, "Image with git for the clone of a git-mode mount")
      ->type_name("IMAGE")
      ->capture_default_str();
  sub->add_option("--secret", opts->secrets,
                  "Map a Matchlockfile secret to a Kubernetes Secret's key (needed for env:, file:, cmd:)")
      ->type_name("NAME=SECRET/KEY");
  sub->add_option("--git-remote", opts->git_remotes, "The URL a git-mode mount at TARGET clones in the cluster")
      ->type_name("TARGET=URL");
  sub->add_option("--ca", opts->render.ca_name,
                  "The gateway CA: tls Secret (gateway) and ConfigMap (sandboxes) of this name")
      ->type_name("NAME")
      ->capture_default_str();
  sub->add_option("--cluster-cidr", opts->extra_cidrs,
                  "Another range the gateway may not reach (besides RFC 1918, 100.64/10, link-local, fc00::/7...)")
      ->type_name("CIDR");
  sub->add_option("--volume-size", opts->render.volume_size, "PVC size of each named volume")
      ->type_name("QUANTITY")
      ->capture_default_str();
  sub->add_option("--platform", opts->render.platform,
                  "Locked platform to run (default: sandbox.platform, else linux/amd64)")
      ->type_name("OS/ARCH");
  sub->add_option("-o,--output", opts->output, "Write to FILE (atomically), or one file per object into DIR")
      ->type_name(k_type_file);
  sub->callback(verb_callback(ctx.exit_code, [&ctx, opts]() { return render_kubernetes(ctx, *opts); }));
}

}  // namespace

void register_render(CLI::App& app, Context& ctx) {
  auto* render = app.add_subcommand("render", "Render the Matchlockfile for another platform (kubernetes)");
  render->require_subcommand(1);
  register_render_kubernetes(*render, ctx);
}

}  // namespace cmd
