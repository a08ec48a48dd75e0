#!/usr/bin/perl
# Runs INSIDE the sandbox as root (perl-base only), after tests/security/attack_lib.pl
# (say_result, dns_query, tcp_exchange, $gw).
# The Matchlockfile declares
#   pg  = "127.0.0.1:5432"                        -> pg.host.internal:5432
#   web = { to = "127.0.0.1:18080", port = 8080 } -> web.host.internal:8080
# and allows allowed.test, rebind.test (127.0.0.1 on the host) and lan.test (10.0.0.5).
# Each attack prints NAME=OUTCOME; tests/security/host_services.sh says what must hold.

# dns_a(NAME, QTYPE) -> ("rcode=N answers=M", first A address or '')
sub dns_a { my ($name, $qtype) = @_; return dns_query([split /\./, $name], $qtype); }

# ---- the service itself, by name, and DNS ----------------------------------------------
my ($rc, $pg_ip) = dns_a('pg.host.internal');
say_result('dns_service', $rc);
say_result('dns_service_synthetic', $pg_ip =~ /^198\.1[89]\./ ? 'yes' : "no:$pg_ip");
say_result('dns_service_case', (dns_a('PG.Host.Internal'))[1] eq $pg_ip ? 'same' : 'different');
say_result('dns_service_aaaa', (dns_a('pg.host.internal', 28))[0]);
say_result('dns_undeclared', (dns_a('mysql.host.internal'))[0]);
say_result('dns_bare_domain', (dns_a('host.internal'))[0]);
say_result('dns_below_service', (dns_a('x.pg.host.internal'))[0]);
say_result('svc_ok', tcp_exchange('pg.host.internal', 5432, "ping\n"));
say_result('svc_ok_by_synthetic_ip', tcp_exchange($pg_ip, 5432, "ping\n"));

# ---- every other port and address of the host and LAN ------------------------------------
say_result('svc_other_port', tcp_exchange('pg.host.internal', 5433, "ping\n", 5));
say_result('svc_synthetic_other_port', tcp_exchange($pg_ip, 5433, "ping\n", 5));
say_result('svc_port_of_other_service', tcp_exchange('pg.host.internal', 8080, "ping\n", 5));
say_result('svc_host_side_port', tcp_exchange('web.host.internal', 18080, "GET / HTTP/1.1\r\nHost: web.host.internal\r\n\r\n", 5));
say_result('svc_gateway_literal', tcp_exchange($gw, 5432, "ping\n", 5));
say_result('svc_lan_literal', tcp_exchange('10.0.0.5', 5432, "ping\n", 5));
say_result('svc_host_loopback_literal', tcp_exchange('127.0.0.1', 5432, "ping\n", 3));  # the guest's own lo
say_result('svc_rebind_name', tcp_exchange('rebind.test', 5432, "ping\n", 5));  # allowed name -> 127.0.0.1
say_result('svc_rebind_name_other_port', tcp_exchange('rebind.test', 5433, "ping\n", 5));
say_result('svc_lan_name', tcp_exchange('lan.test', 5432, "ping\n", 5));          # allowed name -> 10.0.0.5
# The synthetic address of an ordinary allowed name on the service's port: its own upstream, never the service.
say_result('svc_allowed_name_service_port', tcp_exchange('allowed.test', 5432, "ping\n", 5));

# UDP to the service's address and port, and to the gateway's: nothing but DNS leaves.
{
  for my $dst ($pg_ip, $gw) {
    my $u = IO::Socket::INET->new(Proto => 'udp', PeerAddr => $dst, PeerPort => 5432);
    $u->send("udp-to-service") for 1 .. 3;
  }
  say_result('svc_udp_sent', 'yes');
}

# ---- Host header games on the HTTP service (web.host.internal:8080) ----------------------
my $wh = "Host: web.host.internal:8080\r\n";
say_result('web_ok', tcp_exchange('web.host.internal', 8080, "GET /ok HTTP/1.1\r\n$wh\r\n"));
say_result('web_host_localhost', tcp_exchange('web.host.internal', 8080, "GET /h-localhost HTTP/1.1\r\nHost: localhost:8080\r\n\r\n"));
say_result('web_host_loopback_ip', tcp_exchange('web.host.internal', 8080, "GET /h-ip HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n"));
say_result('web_host_undeclared', tcp_exchange('web.host.internal', 8080, "GET /h-admin HTTP/1.1\r\nHost: admin.host.internal:8080\r\n\r\n"));
say_result('web_host_other_service', tcp_exchange('web.host.internal', 8080, "GET /h-pg HTTP/1.1\r\nHost: pg.host.internal:8080\r\n\r\n"));
say_result('web_host_rebind', tcp_exchange('web.host.internal', 8080, "GET /h-rebind HTTP/1.1\r\nHost: rebind.test:8080\r\n\r\n"));
say_result('web_absolute_loopback', tcp_exchange('web.host.internal', 8080, "GET http://127.0.0.1:18080/abs HTTP/1.1\r\n$wh\r\n"));
say_result('web_connect', tcp_exchange('web.host.internal', 8080, "CONNECT 127.0.0.1:5432 HTTP/1.1\r\nHost: 127.0.0.1:5432\r\n\r\n"));
say_result('web_dup_host', tcp_exchange('web.host.internal', 8080, "GET /dup HTTP/1.1\r\n${wh}Host: localhost\r\n\r\n"));
{
  my $s = IO::Socket::INET->new(PeerAddr => 'web.host.internal', PeerPort => 8080, Proto => 'tcp', Timeout => 10);
  print $s "GET /first HTTP/1.1\r\n$wh\r\nGET /second HTTP/1.1\r\nHost: localhost:8080\r\n\r\n";
  my $all = '';
  my $sel = IO::Select->new($s);
  while ($sel->can_read(10)) { my $n = sysread($s, my $c, 65536); last unless $n; $all .= $c; }
  say_result('web_pipelined_front', join(',', $all =~ /^HTTP\/1\.1 (\d+)/mg));
}
# From an ordinary allowed flow, a service name in Host on a port that is not the service's.
say_result('front_to_service_from_allowed', tcp_exchange('allowed.test', 80, "GET /front-svc HTTP/1.1\r\nHost: pg.host.internal\r\n\r\n"));

# ---- TLS: SNI games on the service's port, and the service name as SNI elsewhere --------
sub client_hello {
  my ($sni) = @_;
  my $b = pack('n', length($sni) + 3) . pack('C n', 0, length($sni)) . $sni;
  my $exts = pack('n n', 0, length($b)) . $b;
  my $body = pack('n', 0x0303) . ('r' x 32) . pack('C', 0) . pack('n n', 2, 0x002f) . pack('C C', 1, 0)
           . pack('n', length($exts)) . $exts;
  my $hs = pack('C', 1) . substr(pack('N', length($body)), 1) . $body;
  return pack('C n n', 22, 0x0301, length($hs)) . $hs;
}
say_result('tls_sni_evil_on_service', tcp_exchange('pg.host.internal', 5432, client_hello('evil.test'), 5) =~ /^\x15/ ? 'alert' : 'passed');
say_result('tls_sni_localhost_on_service', tcp_exchange('pg.host.internal', 5432, client_hello('localhost'), 5) =~ /^\x15/ ? 'alert' : 'passed');
say_result('tls_sni_service_on_allowed', tcp_exchange('allowed.test', 443, client_hello('pg.host.internal'), 5) =~ /^\x15/ ? 'alert' : 'passed');
print "done=1\n";
