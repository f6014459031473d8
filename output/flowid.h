/* output/flowid.h: how a session is named in every record and transcript.
 *
 * The session id is derived from the flow and its start time only (never
 * from memory addresses or clocks), so the same capture gives the same ids.
 * The Community ID (v1, https://github.com/corelight/community-id-spec) lets
 * records join with those of other tools for the same flow. */
#ifndef ISC_OUT_FLOWID_H
#define ISC_OUT_FLOWID_H

#include "../reassembly/flow.h"

/* Room for ,"network":{...},"source":{...},"destination":{...} with IPv6
 * addresses of 39 characters: 253 bytes. */
#define OUT_JSON_EP_MAX 256

struct out_flow {
	uint64_t number;			/* 1-based, order of opening */
	char id[17];				/* 16 hex digits */
	char client_ip[ISC_ADDR_STRLEN];
	char server_ip[ISC_ADDR_STRLEN];
	uint16_t client_port, server_port;
	isc_time start;
	bool midstream;
	const char *role_basis;			/* "syn", "port" or "content" */
	/* The flow's reassembly counters per direction (ISC_DIR_*), valid
	 * until the flow's close() returns. */
	const struct reasm_stats *reasm[2];
	char community_id[64];			/* "1:" + base64 of SHA-1 */
	/* The JSON writer's copy of the "network", "source" and
	 * "destination" members its command and auth records repeat
	 * (json_ep_len 0 until the first such record), and where in it the
	 * "source" object ends; see json.c. */
	uint16_t json_ep_len, json_ep_src;
	char json_ep[OUT_JSON_EP_MAX];
};

/* Fills *f from fi. Can't fail. */
void out_flow_init(struct out_flow *f, const struct flow_info *fi);

/* Community ID v1 of a TCP flow with the given seed, written to out (at
 * least 64 bytes, NUL-terminated). The endpoints may be given either way
 * round. Returns out. */
char *out_community_id(const struct isc_addr *a, uint16_t aport,
		       const struct isc_addr *b, uint16_t bport,
		       uint16_t seed, char *out);

#endif
