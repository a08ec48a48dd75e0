#include "guest/protocol/messages.hpp"

namespace protocol {

using nlohmann::json;

util::Error protocol_error(std::string message) {
  return util::make_error(util::ErrorCode::Guest, "protocol error: " + std::move(message));
}

util::Result<json> parse_json_object(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return protocol_error("malformed JSON payload");
  if (!j.is_object()) return protocol_error("JSON payload is not an object");
  return j;
}

util::Result<std::string> get_string(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return protocol_error(std::string("missing string field ") + key);
  return it->get<std::string>();
}

util::Result<int64_t> get_int(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return protocol_error(std::string("missing integer field ") + key);
  return it->get<int64_t>();
}

util::Result<std::string> get_string_or(const json& j, const char* key, std::string fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) return protocol_error(std::string("field ") + key + " is not a string");
  return it->get<std::string>();
}

util::Result<int64_t> get_int_or(const json& j, const char* key, int64_t fallback, int64_t min, int64_t max) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  int64_t v;
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    if (u > static_cast<uint64_t>(max)) return protocol_error(std::string("field ") + key + " out of range");
    v = static_cast<int64_t>(u);
  } else if (it->is_number_integer()) {
    v = it->get<int64_t>();
  } else {
    return protocol_error(std::string("field ") + key + " is not an integer");
  }
  if (v < min || v > max) return protocol_error(std::string("field ") + key + " out of range");
  return v;
}

util::Result<bool> get_bool_or(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return protocol_error(std::string("field ") + key + " is not a boolean");
  return it->get<bool>();
}

std::string op_of(const json& j) {
  auto it = j.find("op");
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string message_of(const json& j, std::string_view fallback) {
  auto it = j.find("message");
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string(fallback);
}

util::Result<OpenRequest> open_request_from_json(const json& j) {
  OpenRequest r;
  auto kind = j.find("kind");
  if (kind == j.end() || !kind->is_string()) return protocol_error("open: missing kind");
  r.kind = kind->get<std::string>();
  auto bad = [&](const char* what) { return protocol_error(r.kind + ": " + what); };
  if (r.kind == "exec") {
    r.exec = ML_TRY(exec_from_json(j));
  } else if (r.kind == "put" || r.kind == "get") {
    auto path = get_string(j, "path");
    if (!path || path->empty()) return bad("bad request");
    r.path = std::move(*path);
    if (r.kind == "put") {
      auto mode = get_int(j, "mode");
      auto user = get_string_or(j, "user", "");
      if (!mode || !user) return bad("bad request");
      r.mode = static_cast<uint32_t>(*mode & 07777);
      r.user = std::move(*user);
      bool home_relative = !r.user.empty() && r.path.starts_with("~/");
      if (r.path[0] != '/' && !home_relative) return bad("bad request");
    } else if (r.path[0] != '/') {
      return bad("bad request");
    } else {
      auto max = get_int_or(j, "max_size", 0, 0, INT64_MAX);
      if (!max) return bad("bad request");
      r.max_size = static_cast<uint64_t>(*max);
    }
  } else if (r.kind == "tcp") {
    auto port = get_int(j, "port");
    if (!port || *port <= 0 || *port > 65535) return bad("bad port");
    r.port = static_cast<uint32_t>(*port);
  } else if (r.kind == "fuse" || r.kind == "snapshot" || r.kind == "snapshot-list") {
    auto port = get_int(j, "port");
    if (!port) return bad("missing mount id");
    if (*port < 0 || *port > 0xffff) return bad("bad mount id");
    r.port = static_cast<uint32_t>(*port);
  } else {
    return util::make_error(util::ErrorCode::Unsupported, "unknown channel kind " + r.kind);
  }
  return r;
}

util::Result<ExecControl> exec_control_from_json(const json& j) {
  ExecControl c;
  c.op = op_of(j);
  if (c.op == "signal") {
    c.signal = static_cast<int>(ML_TRY(get_int_or(j, "signal", 0, 0, 64)));
  } else if (c.op == "close_output") {
    int64_t s = ML_TRY(get_int_or(j, "stream", static_cast<int64_t>(StreamId::Out), 0, 2));
    c.stream = static_cast<StreamId>(s);
  } else if (c.op == "resize") {
    c.rows = static_cast<uint16_t>(ML_TRY(get_int_or(j, "rows", 24, 0, 65535)));
    c.cols = static_cast<uint16_t>(ML_TRY(get_int_or(j, "cols", 80, 0, 65535)));
  }
  return c;
}

util::Result<ExecResult> exec_result_from_json(const json& j) {
  ExecResult r;
  r.signal = static_cast<int>(ML_TRY(get_int_or(j, "signal", 0, 0, 64)));
  int code = static_cast<int>(ML_TRY(get_int_or(j, "code", 0, 0, 255)));
  r.exit_code = r.signal ? 128 + r.signal : code;
  return r;
}

util::Result<BootInfo> boot_reply_from_json(const json& j) {
  if (op_of(j) != "ready")
    return util::make_error(util::ErrorCode::Guest, "guest boot failed: " + message_of(j, "unknown error"));
  return boot_info_from_json(j);
}

util::Result<void> session_reply_from_json(const json& j, std::string_view op, std::string_view answer) {
  if (op_of(j) != answer)
    return util::make_error(util::ErrorCode::Guest, std::string(op) + ": " + message_of(j, "failed"));
  return util::ok();
}

util::Result<void> channel_result_from_json(const json& j) {
  if (op_of(j) != "error") return util::ok();
  auto code = j.find("code");
  bool not_found = code != j.end() && code->is_string() && *code == "not_found";
  return util::make_error(not_found ? util::ErrorCode::NotFound : util::ErrorCode::Guest,
                          "guest: " + message_of(j, "unknown error"));
}

namespace {

util::Result<std::vector<std::string>> get_strings(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end()) return out;
  if (!it->is_array()) return protocol_error(std::string("field ") + key + " is not an array");
  for (const auto& e : *it) {
    if (!e.is_string()) return protocol_error(std::string("field ") + key + " has a non-string element");
    out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace

std::string encode_hello(const Hello& hello) {
  json j = {{"version", hello.version}};
  j[hello.role == Role::Agent ? "agent" : "host"] = hello.software;
  return j.dump();
}

util::Result<Hello> decode_hello(std::string_view payload) {
  json j = ML_TRY(parse_json_object(payload));
  Hello h;
  int64_t version = ML_TRY(get_int(j, "version"));
  if (version < 0 || version > INT32_MAX) return protocol_error("Hello: version out of range");
  h.version = static_cast<int>(version);
  if (j.contains("agent")) {
    h.role = Role::Agent;
    h.software = ML_TRY(get_string(j, "agent"));
  } else {
    h.role = Role::Host;
    h.software = ML_TRY(get_string(j, "host"));
  }
  return h;
}

json boot_to_json(const BootConfig& c) {
  json j = {{"op", "boot"},     {"time_unix_ns", c.time_unix_ns}, {"hostname", c.hostname},
            {"hosts", c.hosts}, {"lower_disks", c.lower_disks},   {"upper_disk", c.upper_disk}};
  if (c.net.enabled)
    j["net"] = {{"address", c.net.address},
                {"prefix", c.net.prefix},
                {"gateway", c.net.gateway},
                {"mtu", c.net.mtu},
                {"ca_pem", c.net.ca_pem}};
  if (!c.mounts.empty()) {  // optional (docs/workspace.md)
    json m = json::array();
    for (const auto& s : c.mounts) {
      json e = {{"id", s.id}, {"target", s.target}, {"mode", s.mode}};
      if (!s.tag.empty()) e["tag"] = s.tag;
      m.push_back(std::move(e));
    }
    j["mounts"] = std::move(m);
  }
  return j;
}

namespace {

// "mounts" is optional: absent means none (an older host).
util::Result<std::vector<MountSpec>> mounts_from_json(const json& j) {
  std::vector<MountSpec> out;
  auto m = j.find("mounts");
  if (m == j.end() || m->is_null()) return out;
  if (!m->is_array()) return protocol_error("boot: field mounts is not an array");
  for (const auto& e : *m) {
    if (!e.is_object()) return protocol_error("boot: a mount is not an object");
    MountSpec s;
    int64_t id = ML_TRY(get_int(e, "id"));
    if (id < 0 || id > 0xffff) return protocol_error("boot: mount id out of range");
    s.id = static_cast<uint32_t>(id);
    s.target = ML_TRY(get_string(e, "target"));
    s.mode = ML_TRY(get_string(e, "mode"));
    if (s.target.size() < 2 || s.target[0] != '/')
      return protocol_error("boot: mount target must be an absolute path below /");
    if (s.mode != "rw" && s.mode != "ro" && s.mode != "snapshot")
      return protocol_error("boot: unknown mount mode " + s.mode);
    if (auto t = e.find("tag"); t != e.end() && !t->is_null()) {
      if (!t->is_string() || t->get<std::string>().empty() || t->get<std::string>().size() > 36)
        return protocol_error("boot: mount tag must be a string of 1 to 36 bytes");
      s.tag = t->get<std::string>();
    }
    out.push_back(std::move(s));
  }
  return out;
}

// "net" is optional: absent means no NIC (an older host).
util::Result<NetConfig> net_from_json(const json& j) {
  NetConfig n;
  auto it = j.find("net");
  if (it == j.end() || it->is_null()) return n;
  if (!it->is_object()) return protocol_error("boot: field net is not an object");
  n.enabled = true;
  n.address = ML_TRY(get_string(*it, "address"));
  n.gateway = ML_TRY(get_string(*it, "gateway"));
  int64_t prefix = ML_TRY(get_int(*it, "prefix"));
  int64_t mtu = ML_TRY(get_int(*it, "mtu"));
  if (prefix < 1 || prefix > 30) return protocol_error("boot: net.prefix out of range");
  if (mtu < 576 || mtu > 65535) return protocol_error("boot: net.mtu out of range");
  n.prefix = static_cast<int>(prefix);
  n.mtu = static_cast<uint32_t>(mtu);
  if (auto ca = it->find("ca_pem"); ca != it->end() && ca->is_string()) n.ca_pem = ca->get<std::string>();
  return n;
}

}  // namespace

util::Result<BootConfig> boot_from_json(const json& j) {
  BootConfig c;
  c.time_unix_ns = ML_TRY(get_int(j, "time_unix_ns"));
  c.hostname = ML_TRY(get_string(j, "hostname"));
  c.hosts = ML_TRY(get_strings(j, "hosts"));
  c.lower_disks = ML_TRY(get_strings(j, "lower_disks"));
  c.upper_disk = ML_TRY(get_string(j, "upper_disk"));
  c.mounts = ML_TRY(mounts_from_json(j));
  c.net = ML_TRY(net_from_json(j));
  return c;
}

namespace {

json mounts_to_json(const std::vector<MountSpec>& mounts) {
  json m = json::array();
  for (const auto& s : mounts) {
    json e = {{"id", s.id}, {"target", s.target}, {"mode", s.mode}};
    if (!s.tag.empty()) e["tag"] = s.tag;
    m.push_back(std::move(e));
  }
  return m;
}

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

util::Result<std::string> from_hex(const std::string& text, const char* field) {
  if (text.size() % 2) return protocol_error(std::string("resume: ") + field + " is not hex");
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    auto nibble = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return protocol_error(std::string("resume: ") + field + " is not hex");
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace

json resume_to_json(const ResumeConfig& c) {
  return {
      {"op", "resume"},   {"entropy", to_hex(c.entropy)}, {"time_unix_ns", c.time_unix_ns},    {"hostname", c.hostname},
      {"hosts", c.hosts}, {"ca_pem", c.ca_pem},           {"mounts", mounts_to_json(c.mounts)}};
}

util::Result<ResumeConfig> resume_from_json(const json& j) {
  ResumeConfig c;
  std::string hex = ML_TRY(get_string(j, "entropy"));
  c.entropy = ML_TRY(from_hex(hex, "entropy"));
  if (c.entropy.size() != k_resume_entropy_bytes)
    return protocol_error("resume: entropy must be " + std::to_string(k_resume_entropy_bytes) + " bytes");
  c.time_unix_ns = ML_TRY(get_int(j, "time_unix_ns"));
  c.hostname = ML_TRY(get_string(j, "hostname"));
  c.hosts = ML_TRY(get_strings(j, "hosts"));
  c.ca_pem = ML_TRY(get_string_or(j, "ca_pem", ""));
  c.mounts = ML_TRY(mounts_from_json(j));
  return c;
}

json boot_info_to_json(const BootInfo& i) {
  json t = json::array();
  for (const auto& [name, ms] : i.timings_ms) t.push_back(json::array({name, ms}));
  return {{"op", "ready"}, {"uname", i.uname}, {"agent_version", i.agent_version}, {"timings_ms", t}};
}

util::Result<BootInfo> boot_info_from_json(const json& j) {
  BootInfo i;
  i.uname = ML_TRY(get_string(j, "uname"));
  i.agent_version = ML_TRY(get_string(j, "agent_version"));
  auto it = j.find("timings_ms");
  if (it != j.end() && it->is_array()) {
    for (const auto& e : *it) {
      if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_number_integer())
        i.timings_ms.emplace_back(e[0].get<std::string>(), e[1].get<int64_t>());
    }
  }
  return i;
}

json exec_to_json(const ExecRequest& r) {
  return {{"kind", "exec"}, {"argv", r.argv}, {"env", r.env},   {"cwd", r.cwd},
          {"user", r.user}, {"tty", r.tty},   {"rows", r.rows}, {"cols", r.cols}};
}

util::Result<ExecRequest> exec_from_json(const json& j) {
  ExecRequest r;
  r.argv = ML_TRY(get_strings(j, "argv"));
  if (r.argv.empty()) return protocol_error("exec: empty argv");
  r.env = ML_TRY(get_strings(j, "env"));
  r.cwd = ML_TRY(get_string(j, "cwd"));
  r.user = ML_TRY(get_string(j, "user"));
  auto tty = j.find("tty");
  r.tty = tty != j.end() && tty->is_boolean() && tty->get<bool>();
  int64_t rows = ML_TRY(get_int(j, "rows"));
  int64_t cols = ML_TRY(get_int(j, "cols"));
  if (rows < 0 || rows > 65535 || cols < 0 || cols > 65535) return protocol_error("exec: bad window size");
  r.rows = static_cast<uint16_t>(rows);
  r.cols = static_cast<uint16_t>(cols);
  return r;
}

}  // namespace protocol
