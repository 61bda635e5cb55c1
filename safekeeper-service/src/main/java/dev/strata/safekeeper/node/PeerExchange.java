package dev.strata.safekeeper.node;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.safekeeper.election.PeerPosition;
import dev.strata.safekeeper.timeline.Timeline;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells peers this node's (term, flush LSN) for every timeline whenever it changes, and
 * recomputes commit LSNs from what it knows; also persists control files lazily (the
 * commit LSN need not be durable: after a crash it is relearned from peers). One push per
 * peer and timeline is in flight at a time; a newer position supersedes an unsent one.
 */
final class PeerExchange implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PeerExchange.class);
    private static final long PERSIST_EVERY_NANOS = Duration.ofSeconds(1).toNanos();

    private final SafekeeperNode node;
    private final Duration interval;
    private volatile Map<NodeId, SafekeeperClient> clients = Map.of();
    private final Map<String, PeerPosition> lastSent = new ConcurrentHashMap<>();
    private final Map<String, Boolean> inFlight = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean closed;

    PeerExchange(SafekeeperNode node, Duration interval) {
        this.node = node;
        this.interval = interval;
        this.thread = Thread.ofPlatform().daemon().name("peer-exchange-" + node.nodeId()).start(this::run);
    }

    void setPeers(Map<NodeId, URI> urls) {
        Map<NodeId, SafekeeperClient> next = new ConcurrentHashMap<>();
        urls.forEach((id, url) -> next.put(id, new SafekeeperClient(url)));
        clients = Map.copyOf(next);
        lastSent.clear();
    }

    int peerCount() {
        return clients.size();
    }

    boolean isPeer(NodeId id) {
        return clients.containsKey(id);
    }

    private void run() {
        long lastPersist = System.nanoTime();
        while (!closed) {
            try {
                boolean persist = System.nanoTime() - lastPersist > PERSIST_EVERY_NANOS;
                for (Timeline t : node.timelines().values()) {
                    node.updateCommit(t);
                    push(t);
                    if (persist) {
                        t.persistIfChanged();
                    }
                }
                if (persist) {
                    lastPersist = System.nanoTime();
                }
                Thread.sleep(interval.toMillis());
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.warn("node={} peer exchange round failed: {}", node.nodeId(), e.toString());
            }
        }
    }

    private void push(Timeline t) {
        PeerPosition own = node.ownPosition(t);
        TimelineId id = t.id();
        clients.forEach((peer, client) -> {
            String key = peer + "/" + id;
            if (own.equals(lastSent.get(key)) || inFlight.putIfAbsent(key, Boolean.TRUE) != null) {
                return;
            }
            client.pushPosition(id, own).whenComplete((status, err) -> {
                inFlight.remove(key);
                if (err == null && status == 200) {
                    lastSent.put(key, own);
                }
            });
        });
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
