/*
 * LD_PRELOAD shim for bench/safekeeper-throughput.sh: lets Debian 12's pg_receivewal 15 stream
 * from a PostgreSQL 17 server. pg_receivewal refuses any server newer than itself
 * (CheckServerVersionForStreaming in streamutil.c) although physical streaming (IDENTIFY_SYSTEM,
 * START_REPLICATION, XLogData, keepalives, standby status updates) is unchanged from 15 to 17.
 * The zonky PG 17 archive the project unpacks has only initdb, pg_ctl and postgres, and Debian 12
 * has no PG 17 client, so the baseline is the stock 15 client told the server is a 15.
 * Only used when the pg_receivewal found is older than the server.
 */
#define _GNU_SOURCE
#include <dlfcn.h>

int PQserverVersion(const void *conn)
{
    static int (*real)(const void *);
    if (!real)
        real = (int (*)(const void *)) dlsym(RTLD_NEXT, "PQserverVersion");
    int v = real(conn);
    return v >= 160000 ? 150000 : v;
}
