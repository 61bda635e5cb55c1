package dev.strata.safekeeper.node;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.safekeeper.election.PeerPosition;
import dev.strata.safekeeper.gossip.PositionDatagram;
import dev.strata.safekeeper.gossip.PositionGossip;
import dev.strata.safekeeper.timeline.Timeline;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells peers this node's (term, flush LSN) for every timeline while it changes, and
 * recomputes commit LSNs from what it knows; also persists control files lazily (the commit
 * LSN need not be durable: after a crash it is relearned from peers).
 *
 * <p>Each round (every {@code interval}) sends one batch of positions to every peer over
 * {@link PositionGossip}: the timelines whose position changed since the last round, and all
 * of them once a second, so that a lost datagram or a restarted peer is caught up soon. A
 * peer's gossip address is its management URL's host and port, over UDP.
 */
final class PeerExchange implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PeerExchange.class);
    private static final long PERSIST_EVERY_NANOS = Duration.ofSeconds(1).toNanos();
    private static final long RESEND_ALL_EVERY_NANOS = Duration.ofSeconds(1).toNanos();

    private final SafekeeperNode node;
    private final Duration interval;
    private volatile Map<NodeId, URI> peers = Map.of();
    private volatile PositionGossip gossip;
    /** What the last round sent per timeline; touched by the exchange thread only. */
    private final Map<TimelineId, PeerPosition> lastSent = new HashMap<>();
    private final Thread thread;
    private volatile boolean closed;

    PeerExchange(SafekeeperNode node, Duration interval) {
        this.node = node;
        this.interval = interval;
        this.thread = Thread.ofPlatform().daemon().name("peer-exchange-" + node.nodeId()).start(this::run);
    }

    void setPeers(Map<NodeId, URI> urls) {
        peers = Map.copyOf(urls);
    }

    /** Starts sending and receiving positions on {@code gossip} (bound once the node knows its port). */
    void start(PositionGossip socket) {
        this.gossip = socket;
    }

    int peerCount() {
        return peers.size();
    }

    java.util.Optional<URI> url(NodeId id) {
        return java.util.Optional.ofNullable(peers.get(id));
    }

    boolean isPeer(NodeId id) {
        return peers.containsKey(id);
    }

    java.util.Set<NodeId> peerIds() {
        return peers.keySet();
    }

    PositionGossip gossip() {
        return gossip;
    }

    /** A datagram from a peer: each known timeline's tracker learns the position. */
    void onDatagram(PositionDatagram d) {
        node.checkPeer(d.sender());
        node.heardFrom(d.sender());
        for (PositionDatagram.Entry e : d.entries()) {
            // A timeline this node does not hold (being created, or deleted here) is not news to it.
            node.timeline(e.timeline()).ifPresent(t -> node.onPeerPosition(t, e.position()));
        }
    }

    private void run() {
        long lastPersist = System.nanoTime();
        long lastResendAll = 0;
        while (!closed) {
            try {
                long now = System.nanoTime();
                boolean persist = now - lastPersist > PERSIST_EVERY_NANOS;
                boolean resendAll = now - lastResendAll > RESEND_ALL_EVERY_NANOS;
                List<PositionDatagram.Entry> changed = new ArrayList<>();
                for (Timeline t : node.timelines().values()) {
                    node.updateCommit(t);
                    PeerPosition own = node.ownPosition(t);
                    if (resendAll || !own.equals(lastSent.get(t.id()))) {
                        changed.add(new PositionDatagram.Entry(t.id(), own));
                        lastSent.put(t.id(), own);
                    }
                    if (persist) {
                        // One timeline's disk trouble (a full disk, a stopped WAL store) must not stop
                        // the round: the others still persist, and every position is still sent.
                        try {
                            t.persistIfChanged();
                            node.removeUnneededWal(t);
                        } catch (RuntimeException e) {
                            log.warn("node={} timeline={} lazy persist or WAL removal failed: {}", node.nodeId(), t.id(),
                                    e.getMessage());
                        }
                    }
                }
                lastSent.keySet().retainAll(node.timelines().keySet());
                send(changed);
                if (persist) {
                    lastPersist = now;
                }
                if (resendAll) {
                    lastResendAll = now;
                }
                Thread.sleep(interval.toMillis());
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.warn("node={} peer exchange round failed: {}", node.nodeId(), e.toString());
                try {
                    Thread.sleep(interval.toMillis()); // a failing round must not spin
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private void send(List<PositionDatagram.Entry> entries) {
        PositionGossip socket = gossip;
        if (socket == null || entries.isEmpty()) {
            return;
        }
        List<InetSocketAddress> to = new ArrayList<>();
        for (URI url : peers.values()) {
            // Resolved every round: a peer that moved (a new task address) is found again.
            to.add(new InetSocketAddress(url.getHost(), url.getPort()));
        }
        socket.send(node.nodeId(), entries, to);
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
        PositionGossip socket = gossip;
        if (socket != null) {
            socket.close();
        }
    }
}
