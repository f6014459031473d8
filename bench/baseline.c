/* bench/baseline.c: the fastest a libpcap reader can go through a file.
 *
 * Reads every packet with pcap_next_ex() and sums the captured lengths, so
 * each packet header is touched, and does nothing else. The file is opened
 * with nanosecond timestamp precision, as imapscope opens it, so the two
 * pay the same libpcap cost per packet.
 *
 * Usage: baseline FILE
 * Prints "packets N bytes B" (B = sum of captured lengths) on stdout.
 * Exit status: 0 ok, 1 read error, 2 usage or open error.
 */
#define _DEFAULT_SOURCE		/* u_char and friends for pcap.h under -std=c11 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t packets = 0, bytes = 0;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: baseline FILE\n");
		return 2;
	}
	pcap_t *p = pcap_open_offline_with_tstamp_precision(argv[1],
			PCAP_TSTAMP_PRECISION_NANO, err);
	if (!p) {
		fprintf(stderr, "baseline: %s\n", err);
		return 2;
	}
	while ((r = pcap_next_ex(p, &h, &data)) == 1) {
		packets++;
		bytes += h->caplen;
	}
	if (r == PCAP_ERROR) {
		fprintf(stderr, "baseline: %s\n", pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	pcap_close(p);
	printf("packets %" PRIu64 " bytes %" PRIu64 "\n", packets, bytes);
	return 0;
}
