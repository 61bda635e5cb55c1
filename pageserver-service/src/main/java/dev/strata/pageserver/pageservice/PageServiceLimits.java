package dev.strata.pageserver.pageservice;

/**
 * Bounds of the page service (docs/pageserver.md, "Limits").
 *
 * @param maxConnections  client connections held at once; one more gets an error frame
 *                        (request id 0, code OVERLOADED) and is closed
 * @param maxWaiting      requests waiting for WAL (WAIT_LSN, or any request at an LSN not ingested
 *                        yet) worked on at once, on their own threads, so they never hold the
 *                        GetPage workers; up to {@link #WAIT_QUEUE} more queue for a thread, beyond
 *                        that a request is answered OVERLOADED
 * @param maxBasebackups  basebackups streamed at once, on their own threads; one more is answered
 *                        OVERLOADED at once (the compute retries its start)
 */
public record PageServiceLimits(int maxConnections, int maxWaiting, int maxBasebackups) {

    public static final int DEFAULT_MAX_CONNECTIONS = 1000;
    public static final int DEFAULT_MAX_WAITING = 64;
    public static final int DEFAULT_MAX_BASEBACKUPS = 4;
    /** Requests waiting for WAL that queue for a wait thread when all are busy. */
    public static final int WAIT_QUEUE = 1024;

    public PageServiceLimits {
        if (maxConnections < 1 || maxWaiting < 1 || maxBasebackups < 1) {
            throw new IllegalArgumentException("page service limits must be at least 1: connections " + maxConnections
                    + ", waiting " + maxWaiting + ", basebackups " + maxBasebackups);
        }
    }

    public static PageServiceLimits defaults() {
        return new PageServiceLimits(DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_WAITING, DEFAULT_MAX_BASEBACKUPS);
    }
}
