// net::Rule parsing and matching, util size and glob helpers.
#include <catch2/catch.hpp>

#include "net/rule.hpp"
#include "util/glob.hpp"
#include "util/size.hpp"

TEST_CASE("network rules parse and round-trip") {
  const std::pair<const char*, const char*> cases[] = {
      {"Example.COM", "example.com"}, {"*.github.com", "*.github.com"}, {"api.x.io:443", "api.x.io:443"},
      {"10.0.0.0/8", "10.0.0.0/8"},   {"1.2.3.4", "1.2.3.4/32"},        {"192.168.0.0/16:5432", "192.168.0.0/16:5432"},
  };
  for (auto [in, out] : cases) {
    INFO(in);
    auto r = net::parse_rule(in);
    REQUIRE(r);
    CHECK(r->to_string() == out);
    CHECK(net::parse_rule(r->to_string()).value() == *r);
  }
  for (const char* bad : {"", "*", "*.com", "a.*.com", "host:0", "host:65536", "host:x", "10.0.0.1/8", "1.2.3.4/33",
                          "-a.com", "a..com", "http://a.com", "a b.com"}) {
    INFO(bad);
    CHECK_FALSE(net::parse_rule(bad));
  }
}

TEST_CASE("rule matching: subdomains only, ports, CIDRs") {
  auto host = net::parse_rule("example.com").value();
  CHECK(net::matches(host, "example.com", 443));
  CHECK(net::matches(host, "EXAMPLE.com.", 80));
  CHECK_FALSE(net::matches(host, "www.example.com", 443));
  auto sub = net::parse_rule("*.example.com").value();
  CHECK(net::matches(sub, "a.b.example.com", 443));
  CHECK_FALSE(net::matches(sub, "example.com", 443));
  CHECK_FALSE(net::matches(sub, "badexample.com", 443));
  auto port = net::parse_rule("example.com:443").value();
  CHECK(net::matches(port, "example.com", 443));
  CHECK_FALSE(net::matches(port, "example.com", 80));
  auto cidr = net::parse_rule("10.1.0.0/16:22").value();
  CHECK(net::matches(cidr, "10.1.2.3", 22));
  CHECK_FALSE(net::matches(cidr, "10.2.0.1", 22));
  CHECK_FALSE(net::matches(cidr, "10.1.2.3", 23));
  CHECK_FALSE(net::matches(cidr, "example.com", 22));
}

TEST_CASE("sizes") {
  CHECK(util::parse_size("2GiB").value() == 2ull << 30);
  CHECK(util::parse_size("512MiB").value() == 512ull << 20);
  CHECK(util::parse_size("4096").value() == 4096);
  CHECK(util::parse_size("1TiB").value() == 1ull << 40);
  for (const char* bad : {"", "GiB", "2 GiB", "2gb", "1.5GiB", "-1", "99999999999999999999", "20000000000TiB"}) {
    INFO(bad);
    CHECK_FALSE(util::parse_size(bad));
  }
  CHECK(util::format_size(2ull << 30) == "2GiB");
  CHECK(util::format_size(1536ull << 20) == "1536MiB");
  CHECK(util::format_size(1000) == "1000B");
}

TEST_CASE("globs") {
  for (const char* bad : {"", "a[", "[]", "a\\", "a**", "**b", "a/**b/c"}) {
    INFO(bad);
    CHECK_FALSE(util::validate_glob(bad));
  }
  struct Case {
    const char* pattern;
    const char* path;
    bool match;
  };
  const Case cases[] = {
      {"*.txt", "a.txt", true},
      {"*.txt", "d/a.txt", false},
      {"**/*.txt", "d/e/a.txt", true},
      {"**/*.txt", "a.txt", true},
      {"src/**", "src/a/b", true},
      {"src/**", "srcx/a", false},
      {"a?c", "abc", true},
      {"a?c", "a/c", false},
      {"[a-c]x", "bx", true},
      {"[!a-c]x", "bx", false},
      {"[!a-c]x", "dx", true},
      {"\\*", "*", true},
      {"\\*", "a", false},
      {"a/**/b", "a/b", true},
      {"a/**/b", "a/x/y/b", true},
      {"node_modules/**", "node_modules/x/y.js", true},
      {"**/node_modules", "a/b/node_modules", true},
  };
  for (const auto& c : cases) {
    INFO(c.pattern << " vs " << c.path);
    REQUIRE(util::validate_glob(c.pattern));
    CHECK(util::glob_match(c.pattern, c.path) == c.match);
  }
}

TEST_CASE("globs: what may match beneath a directory (exclude's rename check)") {
  struct Case {
    const char* pattern;
    const char* dir;
    bool may;
  };
  const Case cases[] = {
      {"private/**", "private", true},
      {"private/**", "pub", false},
      {"star/*", "star", true},
      {"star/*", "star/sub", false},
      {"dir/file", "dir", true},
      {"dir/file", "dir/file", false},
      {"**/secret.txt", "a/b", true},
      {"*.key", "a", false},
      {"**/*.key", "a", true},
      {"node_modules", "node_modules", false},
      {"a/**/b", "a", true},
      {"a/**/b", "x", false},
      {"[a-c]/x", "b", true},
      {"?/x", "ab", false},
      {"x", "", true},
  };
  for (const auto& c : cases) {
    INFO(c.pattern << " beneath " << c.dir);
    CHECK(util::glob_may_match_beneath(c.pattern, c.dir) == c.may);
  }
  // Never a false "no": every pattern x dir x suffix over a small alphabet.
  const char* patterns[] = {"a/**", "a/*",    "a/b", "**/b", "*/b",   "a/**/b",
                            "?/b",  "[ab]/*", "*",   "**",   "a*/b*", "**/a/*"};
  const char* paths[] = {"a", "b", "ab", "a/b", "b/a", "a/a", "a/b/b", "b/a/b", "ab/b", "a/ab/b"};
  for (const char* p : patterns)
    for (const char* dir : paths)
      for (const char* rest : paths) {
        std::string full = std::string(dir) + "/" + rest;
        if (util::glob_match(p, full)) {
          INFO(p << " matches " << full);
          CHECK(util::glob_may_match_beneath(p, dir));
        }
      }
}

TEST_CASE("globs: exclude patterns are normalised to share-relative paths") {
  const std::pair<const char*, const char*> good[] = {
      {"secrets/", "secrets"}, {"/secrets", "secrets"}, {"./a/*.key", "a/*.key"}, {"**/x//", "**/x"}, {".env", ".env"},
  };
  for (auto [in, out] : good) {
    INFO(in);
    CHECK(util::normalize_path_glob(in).value() == out);
  }
  for (const char* bad : {"", "/", "./", ".", "..", "a/../b", "a//b", "a/./b", "a[", "a**"}) {
    INFO(bad);
    CHECK_FALSE(util::normalize_path_glob(bad));
  }
}
