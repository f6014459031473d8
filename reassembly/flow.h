/* reassembly/flow.h: the flow table. Turns TCP segments into per-flow,
 * per-direction in-order byte streams for the flows on the IMAP ports.
 *
 * Roles: the sender of a SYN (without ACK) is the client, the sender of a
 * SYN+ACK the server; without a handshake, the endpoint on a port of the
 * server port list is the server. Both directions are delivered in capture
 * order: bytes are handed on as soon as they are in sequence.
 *
 * The table calls back through struct flow_ops; every callback gets ctx and
 * the pointer open() returned for that flow. Bytes passed to data() and the
 * flow_info given to open() are borrowed for the duration of the call.
 * Callbacks must not call back into the table.
 *
 * Only a SYN or a segment with payload opens a flow: a bare ACK, FIN or RST
 * on an unknown 4-tuple is the tail of a connection already gone. */
#ifndef ISC_REASM_FLOW_H
#define ISC_REASM_FLOW_H

#include "../common/limits.h"
#include "../common/pkt.h"

struct flow_info {
	uint64_t number;		/* 1-based, in the order flows opened */
	struct isc_addr client, server;
	uint16_t client_port, server_port;
	isc_time start;			/* timestamp of the flow's first packet */
	bool midstream;			/* no SYN seen: joined mid-conversation */
};

enum flow_end {
	FLOW_END_FIN = 0,	/* FIN seen from both sides */
	FLOW_END_RST,		/* RST seen */
	FLOW_END_IDLE,		/* no packet for idle_timeout */
	FLOW_END_EOF,		/* the capture ended while it was open */
	FLOW_END_EVICTED,	/* the table was full and it was least recent */
	FLOW_END_SHUTDOWN,	/* the program was told to stop */
	FLOW_END_COUNT
};

/* "fin", "rst", "idle", "eof", "evicted", "shutdown" */
extern const char *const flow_end_names[FLOW_END_COUNT];

struct flow_ops {
	/* A flow on an IMAP port starts. Returns the pointer handed back to
	 * the other callbacks for this flow (NULL is allowed). */
	void *(*open)(void *ctx, const struct flow_info *fi);
	/* In-order bytes sent by dir. */
	void (*data)(void *ctx, void *flow, enum isc_dir dir, isc_time ts,
		     const uint8_t *p, size_t len);
	/* len bytes sent by dir that will never be seen. */
	void (*gap)(void *ctx, void *flow, enum isc_dir dir, isc_time ts,
		    uint64_t len);
	/* dir sent FIN and all its bytes were delivered. May be NULL. */
	void (*fin)(void *ctx, void *flow, enum isc_dir dir, isc_time ts);
	/* The flow is over; no more callbacks for it. ts is the time of its
	 * last packet (or the time the table decided it was over). */
	void (*close)(void *ctx, void *flow, isc_time ts, enum flow_end why);
	void *ctx;
};

struct flow_stats {
	uint64_t packets;		/* TCP packets offered */
	uint64_t not_imap_port;		/* neither port on the server list */
	uint64_t flows;			/* flows opened */
	uint64_t flows_midstream;
	uint64_t evicted;
	uint64_t timed_out;
	uint64_t segments;		/* segments with payload */
	uint64_t retransmitted;
	uint64_t overlaps;
	uint64_t inconsistent;
	uint64_t ooo_held;
	uint64_t gaps;
	uint64_t gap_bytes;
	uint64_t memcap_refusals;
	uint64_t open_now;		/* flows currently in the table */
	uint64_t open_peak;
};

struct flow_table;

/* Creates a table. ports (nports entries, copied) is the server port list.
 * Returns 0, ISC_ENOMEM, or ISC_EINVAL (nports == 0, max_flows == 0,
 * idle_timeout <= 0, or a NULL open/data/gap/close callback). */
int flow_table_new(const struct isc_limits *lim, const uint16_t *ports,
		   size_t nports, const struct flow_ops *ops,
		   struct flow_table **t_r);

/* Closes nothing, frees everything, sets *t to NULL. Call flow_table_finish
 * first if the flows' records are wanted. */
void flow_table_free(struct flow_table **t);

/* Processes one segment. Also closes flows idle for longer than
 * idle_timeout as of pkt->ts. Can't fail. */
void flow_table_packet(struct flow_table *t, const struct isc_pkt *pkt);

/* Closes flows idle for longer than idle_timeout as of now. */
void flow_table_expire(struct flow_table *t, isc_time now);

/* Flushes and closes every open flow with the given reason, oldest first,
 * at time now. */
void flow_table_finish(struct flow_table *t, isc_time now, enum flow_end why);

const struct flow_stats *flow_table_stats(const struct flow_table *t);

#endif
