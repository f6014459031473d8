/* reassembly/flow.h: the flow table. Turns TCP segments into per-flow,
 * per-direction in-order byte streams for the flows on the IMAP ports.
 *
 * Roles: the sender of a SYN (without ACK) is the client, the sender of a
 * SYN+ACK the server. Without a handshake (a flow joined midstream), the
 * optional role_hint callback looks at the first segment's bytes and may
 * say who is speaking; if it does not know (or is NULL), the endpoint on a
 * port of the server port list is the server, and when both ports are
 * listed the first segment's destination is. Both directions are delivered
 * in capture order: bytes are handed on as soon as they are in sequence.
 * docs/reassembly.md states every policy and bound.
 *
 * The table calls back through struct flow_ops; every callback gets ctx and
 * the pointer open() returned for that flow. Bytes passed to data() and
 * role_hint(), and the flow_info given to open(), are borrowed for the
 * duration of the call (but for flow_info.stats: see there). Callbacks must
 * not call back into the table.
 *
 * Only a SYN or a segment with payload opens a flow: a bare ACK, FIN or RST
 * on an unknown 4-tuple is the tail of a connection already gone. A flow
 * closed by FIN or RST is remembered for a while (FLOW_LINGER), so its late
 * retransmissions and last ACKs open nothing; a SYN with a new initial
 * sequence number on the same ports is a new connection. */
#ifndef ISC_REASM_FLOW_H
#define ISC_REASM_FLOW_H

#include "../common/limits.h"
#include "../common/pkt.h"
#include "stream.h"

/* How long, in capture time, a flow closed by FIN or RST absorbs the late
 * packets of its 4-tuple: 2 minutes, RFC 9293's Maximum Segment Lifetime,
 * after which no copy of a segment can still be on the way. Shorter if the
 * idle timeout is. */
#define FLOW_LINGER (120 * ISC_NS_PER_SEC)

/* What decided which endpoint is the client. */
enum flow_role_basis {
	FLOW_ROLE_SYN = 0,	/* a SYN or a SYN+ACK was seen */
	FLOW_ROLE_PORT,		/* the server port list */
	FLOW_ROLE_CONTENT,	/* role_hint() on the first payload */
	FLOW_ROLE_COUNT
};

/* "syn", "port", "content" */
extern const char *const flow_role_basis_names[FLOW_ROLE_COUNT];

struct flow_info {
	uint64_t number;		/* 1-based, in the order flows opened */
	struct isc_addr client, server;
	uint16_t client_port, server_port;
	isc_time start;			/* timestamp of the flow's first packet */
	bool midstream;			/* no SYN seen: joined mid-conversation */
	enum flow_role_basis role_basis;
	/* This flow's reassembly counters, by enum isc_dir: inconsistent
	 * retransmissions, gaps, window probes... Kept current by the table.
	 * Unlike the rest of flow_info, these two pointers stay valid until
	 * close() returns for the flow, so open() may keep them and close()
	 * read the final values. */
	const struct reasm_stats *stats[2];
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

/* Values role_hint() returns. */
enum {
	FLOW_HINT_CLIENT = -1,	/* the sender looks like the client */
	FLOW_HINT_UNKNOWN = 0,
	FLOW_HINT_SERVER = 1,	/* the sender looks like the server */
};

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
	/* May be NULL. Called once for a flow joined midstream, before
	 * open(), with the captured bytes of its first segment (len > 0):
	 * returns FLOW_HINT_SERVER when their sender looks like the server
	 * (for IMAP: a line starting "* OK", "* PREAUTH" or "* BYE"),
	 * FLOW_HINT_CLIENT when it looks like the client, FLOW_HINT_UNKNOWN
	 * otherwise. A known answer decides the roles (FLOW_ROLE_CONTENT),
	 * even against the port list. Must not keep p. */
	int (*role_hint)(void *ctx, const uint8_t *p, size_t len);
	void *ctx;
};

struct flow_stats {
	uint64_t packets;		/* TCP packets offered */
	uint64_t not_imap_port;		/* neither port on the server list */
	uint64_t flows;			/* flows opened */
	uint64_t flows_midstream;
	uint64_t roles_by_content;	/* flows whose roles role_hint decided */
	uint64_t evicted;
	uint64_t timed_out;
	uint64_t late;			/* packets of a flow already closed by
					 * FIN or RST, ignored */
	uint64_t rst_ignored;		/* RSTs far from anything the sender
					 * sent: not believed */
	uint64_t segments;		/* segments with payload */
	uint64_t retransmitted;
	uint64_t overlaps;
	uint64_t inconsistent;
	uint64_t ooo_held;
	uint64_t gaps;
	uint64_t gap_bytes;
	uint64_t window_probes;
	uint64_t past_fin;
	uint64_t memcap_refusals;
	uint64_t open_now;		/* flows currently open */
	uint64_t open_peak;
};

struct flow_table;

/* Creates a table. ports (nports entries, copied) is the server port list;
 * ops is copied. The 4-tuple hash is keyed with 128 bits from getrandom()
 * drawn here, so nobody can aim packets at one hash chain; nothing the
 * callbacks see depends on the key. Returns 0, ISC_ENOMEM, or ISC_EINVAL
 * (nports == 0, max_flows == 0, idle_timeout <= 0, or a NULL
 * open/data/gap/close callback). */
int flow_table_new(const struct isc_limits *lim, const uint16_t *ports,
		   size_t nports, const struct flow_ops *ops,
		   struct flow_table **t_r);

/* Closes nothing, frees everything, sets *t to NULL. Call flow_table_finish
 * first if the flows' records are wanted. NULL *t is allowed. */
void flow_table_free(struct flow_table **t);

/* Processes one segment. Also closes flows idle for longer than
 * idle_timeout as of pkt->ts. Can't fail. */
void flow_table_packet(struct flow_table *t, const struct isc_pkt *pkt);

/* Closes flows idle for longer than idle_timeout as of now. */
void flow_table_expire(struct flow_table *t, isc_time now);

/* Flushes and closes every open flow with the given reason, oldest first,
 * at time now, and forgets the flows that were lingering. */
void flow_table_finish(struct flow_table *t, isc_time now, enum flow_end why);

/* The table's counters as of this call (the streams' counters are gathered
 * here, not at every packet). Valid as long as t; call again for current
 * values. */
const struct flow_stats *flow_table_stats(struct flow_table *t);

#endif
