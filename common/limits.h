/* common/limits.h: every bound imapscope enforces, in one place.
 *
 * Defaults come from isc_limits_default(); the CLI overrides single fields.
 * A bound of 0 is never read as "unlimited". Each default states why it is
 * what it is; docs/security.md lists them for users. */
#ifndef ISC_LIMITS_H
#define ISC_LIMITS_H

#include <stddef.h>
#include <stdint.h>
#include "isc.h"

struct isc_limits {
	/* reassembly */
	/* Held out-of-order segments are charged their bytes plus a fixed
	 * cost per segment (reassembly/reasm_int.h), so a flood of tiny
	 * segments cannot hide from the bounds. */
	size_t   memcap;		/* out-of-order bytes held, all flows together */
	size_t   max_ooo;		/* out-of-order bytes held per direction */
	uint32_t max_flows;		/* flows tracked at once; LRU evicted past it */
	isc_time idle_timeout;		/* ns of silence before a flow is closed */
	/* dissector */
	size_t   max_line;		/* longest line kept while waiting for its end */
	uint32_t max_depth;		/* '(' nesting tracked in one line */
	uint32_t max_pending;		/* commands awaiting their tagged reply */
	size_t   literal_bytes;		/* literal bytes sampled for transcripts */
	/* capture: IP fragment reassembly (capture/ipfrag.h). Each held
	 * fragment is charged its bytes plus a fixed cost
	 * (CAP_FRAG_COST), as held segments are in reassembly. */
	uint32_t frag_max;		/* fragments held at once, all datagrams */
	size_t   frag_memcap;		/* bytes charged for them, all datagrams */
	isc_time frag_timeout;		/* ns of capture time a datagram may take
					 * from its first fragment to its last */
};

/* Fills *l with the defaults. Can't fail. */
void isc_limits_default(struct isc_limits *l);

#endif
