// Secret files ([secrets.NAME] file = "GUEST PATH", docs/matchlockfile.md): many tools
// read credentials from files (~/.npmrc, ~/.claude/.credentials.json, ~/.codex/auth.json).
// The guest gets such a file with every real value replaced by a placeholder; the proxy
// swaps each placeholder back only toward the secret's hosts, as for env secrets.
//
//  - json = ["a.b", ...]: the secret's value is a JSON document (a host file, an env
//    variable or a command's output); each listed field, a string, is a secret of its own
//    ("NAME.a.b") with its own placeholder, bound to NAME's hosts. The guest file is the
//    document with those fields (and any other string equal to one of their values)
//    replaced. A listed field that is missing or not a non-empty string is an error.
//  - template = "...": the file is the template with ${OTHER} replaced by secret OTHER's
//    placeholder ($$ is a literal $).
//  - neither: the file holds the placeholder alone.
// Every rendered file is checked to hold no real value of any secret; if one is left
// (a value inside a longer string of the document) the sandbox does not start.
// Rendering happens on the host; only the rendered text is sent to the guest.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/config.hpp"
#include "net/secrets.hpp"
#include "util/result.hpp"

namespace engine {

struct GuestSecretFile {
  std::string secret;   // NAME
  std::string path;     // as in the Matchlockfile ("~/..." is the user's home, resolved in the guest)
  std::string content;  // placeholders only
};

// The fields of a JSON secret's DOCUMENT: (field path, value) in the order of SECRET.json.
// Errors name the secret and the field, never a value.
util::Result<std::vector<std::pair<std::string, std::string>>> json_secret_fields(const Secret& secret,
                                                                                  std::string_view document);

// SECRET's file. VALUE is its raw value (the JSON document for a json secret); TABLE maps
// names ("NAME", "NAME.field") to placeholders.
util::Result<GuestSecretFile> render_secret_file(const Secret& secret, std::string_view value,
                                                 const net::SecretTable& table);

}  // namespace engine
