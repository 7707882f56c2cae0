#!/usr/bin/env perl
# utt2spk_to_spk2utt.pl [utt2spk]  > spk2utt
# Reads "utt spk" lines (file or stdin) and prints "spk utt1 utt2 ..." per speaker, speakers in order of
# first appearance and utterances in input order (Kaldi's utils/utt2spk_to_spk2utt.pl contract).
# With a C-sorted utt2spk whose speaker ids are prefixes of the utterance ids, the output is C-sorted too.
use strict;
use warnings;

my (@order, %utts);
while (my $line = <>) {
  my @f = split ' ', $line;
  next unless @f;
  @f == 2 or die "utt2spk_to_spk2utt.pl: line $.: expected 2 fields 'utt spk', got: $line";
  my ($utt, $spk) = @f;
  push @order, $spk unless exists $utts{$spk};
  push @{ $utts{$spk} }, $utt;
}
print join(' ', $_, @{ $utts{$_} }), "\n" for @order;
