// Resolving an image from the content store alone, without any network: what
// makes a warm `run`/`up` (and `pull --frozen`) fast. Docker's semantics: a
// digest (from the reference or the lockfile) is immutable, so a complete copy
// in the store is the answer; a tag is answered from the image record of the
// last pull unless the policy asks to re-check the registry.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "oci/platform.hpp"
#include "oci/pull.hpp"
#include "oci/reference.hpp"
#include "oci/store.hpp"
#include "util/result.hpp"

namespace oci {

// "always" | "missing" | "never" (docker's --pull values).
util::Result<PullPolicy> parse_pull_policy(std::string_view text);
std::string_view to_string(PullPolicy policy);

enum class TagLookup { Record, Skip };

// The image, complete in the store (index/manifest, config, every layer), or
// nullopt when anything is missing. `pinned_manifest` (a lockfile pin, may be
// empty) wins over the reference; with TagLookup::Skip a tag is never
// answered locally (policy `always`). Registry references only.
util::Result<std::optional<PulledImage>> resolve_local(const Store& store, const Reference& ref,
                                                       std::string_view pinned_manifest, const Platform& platform,
                                                       TagLookup tags);

}  // namespace oci
