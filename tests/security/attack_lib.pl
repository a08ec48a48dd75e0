#!/usr/bin/perl
# Shared by the attack scripts that run INSIDE the sandbox as root (perl-base only):
# guest_attacks.pl and host_service_attacks.pl are each shipped as this file followed by
# the script (`cat attack_lib.pl SCRIPT`). Each attack prints NAME=OUTCOME.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Socket;

$| = 1;
our $gw = '192.168.127.1';  # the sandbox's gateway and resolver

sub say_result { my ($name, $value) = @_; $value =~ s/[\r\n]+/ /g; print "$name=$value\n"; }

my $qid = 0x4000;
# dns_query(LABELS_ARRAYREF, QTYPE) -> ("rcode=N answers=M", first A address or '');
# ("timeout", '') or ("socket-error", '') when there is no answer.
sub dns_query {
  my ($labels, $qtype) = @_;
  $qtype //= 1;
  my $q = pack('n n n n n n', ++$qid, 0x0100, 1, 0, 0, 0);
  $q .= pack('C', length($_)) . $_ for @$labels;
  $q .= "\0" . pack('n n', $qtype, 1);
  my $s = IO::Socket::INET->new(Proto => 'udp', PeerAddr => $gw, PeerPort => 53) or return ("socket-error", '');
  $s->send($q);
  return ("timeout", '') unless IO::Select->new($s)->can_read(5);
  my $r;
  $s->recv($r, 4096);
  my ($id, $flags, $qd, $an) = unpack('n n n n', $r);
  my $addr = '';
  $addr = join('.', unpack('C4', substr($r, -4))) if $an > 0 && $qtype == 1;
  return (sprintf("rcode=%d answers=%d", $flags & 0xf, $an), $addr);
}

# tcp_exchange(HOST, PORT, BYTES, WAIT) -> the first line of the answer (an HTTP status
# code for HTTP), "closed" (accepted, then closed/reset without a byte) or "refused".
sub tcp_exchange {
  my ($host, $port, $bytes, $wait) = @_;
  my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp', Timeout => 10)
    or return "refused";
  print $s $bytes if defined $bytes;
  my $sel = IO::Select->new($s);
  my $buf = '';
  my $deadline = time + ($wait // 10);
  while (time < $deadline && $sel->can_read($deadline - time)) {
    my $n = sysread($s, my $chunk, 65536);
    last unless $n;
    $buf .= $chunk;
    last if $buf =~ /\n/ && $buf !~ /^HTTP/ || $buf =~ /\r?\n\r?\n/ || length($buf) > 65536;
  }
  close $s;
  return "closed" if $buf eq '';
  my ($line) = split /\r?\n/, $buf;
  $line =~ s/^HTTP\/1\.[01] (\d+).*/$1/;
  return $line;
}

1;
