package dev.strata.pageserver.http;

import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pgcore.auth.TokenVerifier;
import java.nio.file.Path;

/**
 * Configuration of one pageserver; {@link #local} gives the defaults {@code strata up} uses.
 *
 * @param dataDir             where timelines live ({@code <dataDir>/timelines/<id>/})
 * @param listenHost          address of both listeners (127.0.0.1 by default)
 * @param httpPort            management API port (0: any free port)
 * @param pageServicePort     page service port (0: any free port)
 * @param pageServiceThreads  workers answering page-service requests (disk reads)
 * @param replicationUser     default user for WAL sources that name none (a name, no secret)
 * @param verifier            checks the token of every caller of both listeners (docs/pageserver.md,
 *                            "Authentication"); required: there is no unauthenticated mode
 *
 * <p>There is no default password: every WAL source carries its own. A default password would
 * be sent to whatever host a management API caller names as a WAL source (issue 12).
 */
public record PageserverConfig(Path dataDir, String listenHost, int httpPort, int pageServicePort, int pageServiceThreads,
                               String replicationUser, StorageConfig storage,
                               Timeline.Options timelineOptions, TokenVerifier verifier) {

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final String DEFAULT_REPLICATION_USER = "strata_replicator";

    public PageserverConfig {
        if (dataDir == null) {
            throw new IllegalArgumentException("data directory is missing");
        }
        if (verifier == null) {
            throw new IllegalArgumentException("no token verifier: the pageserver's listeners accept only callers"
                    + " with a service token, so they need the cluster's public keys (--auth-public-keys)");
        }
        for (int p : new int[] {httpPort, pageServicePort}) {
            if (p < 0 || p > 65535) {
                throw new IllegalArgumentException("port " + p + " is out of range 0..65535");
            }
        }
        if (pageServiceThreads < 1 || pageServiceThreads > 1024) {
            throw new IllegalArgumentException("page service threads " + pageServiceThreads + " is outside 1..1024");
        }
    }

    public static PageserverConfig local(Path dataDir, TokenVerifier verifier) {
        return new PageserverConfig(dataDir, DEFAULT_HOST, 0, 0, defaultThreads(), DEFAULT_REPLICATION_USER,
                StorageConfig.DEFAULTS, Timeline.Options.DEFAULTS, verifier);
    }

    static int defaultThreads() {
        return Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
    }

    public PageserverConfig withPorts(int http, int pageService) {
        return new PageserverConfig(dataDir, listenHost, http, pageService, pageServiceThreads, replicationUser,
                storage, timelineOptions, verifier);
    }

    public PageserverConfig withTimelineOptions(Timeline.Options options) {
        return new PageserverConfig(dataDir, listenHost, httpPort, pageServicePort, pageServiceThreads, replicationUser,
                storage, options, verifier);
    }

    public PageserverConfig withStorage(StorageConfig s) {
        return new PageserverConfig(dataDir, listenHost, httpPort, pageServicePort, pageServiceThreads, replicationUser,
                s, timelineOptions, verifier);
    }
}
