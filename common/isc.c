#include "isc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

char *isc_addr_format(const struct isc_addr *a, char *buf)
{
	if (a->family == 6)
		inet_ntop(AF_INET6, a->a, buf, ISC_ADDR_STRLEN);
	else
		inet_ntop(AF_INET, a->a, buf, ISC_ADDR_STRLEN);
	return buf;
}

char *isc_time_format(isc_time t, char *buf)
{
	int64_t sec = t / ISC_NS_PER_SEC;
	int64_t ns = t % ISC_NS_PER_SEC;
	if (ns < 0) {
		ns += ISC_NS_PER_SEC;
		sec--;
	}
	time_t tt = (time_t)sec;
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		snprintf(buf, ISC_TIME_STRLEN, "1970-01-01T00:00:00.000000Z");
		return buf;
	}
	snprintf(buf, ISC_TIME_STRLEN, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ns / 1000));
	return buf;
}
