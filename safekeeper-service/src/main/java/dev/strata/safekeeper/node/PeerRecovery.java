package dev.strata.safekeeper.node;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.pgcore.wal.WalDecodeException;
import dev.strata.safekeeper.control.SafekeeperState;
import dev.strata.safekeeper.election.ElectedRequest;
import dev.strata.safekeeper.receive.ValidatedWal;
import dev.strata.safekeeper.timeline.Timeline;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches the WAL a voter lacks below the epoch start from the election's donor, checks it
 * exactly as WAL from the compute is checked ({@link ValidatedWal}: complete, CRC-valid
 * records of this timeline's system, contiguous; decision 0001), appends what passed through the
 * acceptor (which refuses anything beyond the epoch start or of another term) and forces it. A
 * donor that serves bad bytes stops the recovery at the last good record, loudly; the proposer
 * sees progress in the voter's status (flush LSN reaching the epoch start).
 *
 * <p>With WAL offload, WAL below the offloaded LSN (as this node learned it from its peers) is
 * read from object storage instead of the donor, and checked the same way: a safekeeper that
 * lost its disk recovers old WAL the donor may have removed.
 *
 * <p>It presents this node's own {@code safekeeperdata} token to the donor, which is why only a
 * holder of that scope may name the donor's URL (a compute token names the donor by id and the
 * URL comes from this node's peer list: {@link SafekeeperNode#electedByCompute}).
 */
final class PeerRecovery {

    private static final Logger log = LoggerFactory.getLogger(PeerRecovery.class);
    private static final int CHUNK = 1 << 20;

    private PeerRecovery() {
    }

    private static final java.util.Set<Object> running = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Starts recovery unless one is already running for this timeline (a repeated elected message). */
    static void start(Timeline timeline, ElectedRequest elected, NodeId self, String token) {
        if (!running.add(timeline)) {
            return;
        }
        Thread.ofVirtual().name("peer-recovery-" + self + "-" + timeline.id()).start(() -> {
            try {
                run(timeline, elected, self, token);
            } finally {
                running.remove(timeline);
            }
        });
    }

    /** Recovers on the calling thread (tests; {@link #start} runs it on its own thread). */
    static void run(Timeline timeline, ElectedRequest elected, NodeId self, String token) {
        Lsn from = timeline.acceptor().state().flushLsn();
        Lsn to = elected.epochStartLsn();
        log.info("node={} timeline={} recovering WAL [{}, {}) from donor {}", self, timeline.id(), from, to, elected.donor());
        copy(timeline, from, to, elected.donor(), URI.create(elected.donorUrl()), self, token,
                (at, data, off, len) -> timeline.acceptor().appendRecovered(elected.term(), at, data, off, len));
    }

    /**
     * Catch-up of committed WAL from a peer of the current term, on the calling thread: for a
     * member whose compute no longer has the WAL it needs (its disk was lost and its timeline
     * made again, or its slot on the compute was invalidated), the WAL between its flush LSN
     * and {@code to} (at most the commit LSN known here) comes from {@code donor} (and from
     * object storage below the offloaded LSN), checked like any recovered WAL; the compute then
     * streams the rest, which it keeps from this member's slot on. Returns the flush LSN after.
     */
    static Lsn catchUp(Timeline timeline, Term term, Lsn to, NodeId donor, URI donorUrl, NodeId self, String token) {
        Lsn from = timeline.acceptor().state().flushLsn();
        log.info("node={} timeline={} the compute no longer has WAL from {}: catching up [{}, {}) of term {} from peer {}",
                self, timeline.id(), from, from, to, term, donor);
        copy(timeline, from, to, donor, donorUrl, self, token,
                (at, data, off, len) -> timeline.acceptor().appendCommitted(term, at, data, off, len));
        return timeline.acceptor().state().flushLsn();
    }

    /** Where recovered bytes go: below the epoch start, or committed WAL of the current term. */
    private interface Sink {
        void append(Lsn at, byte[] data, int off, int len);
    }

    private static void copy(Timeline timeline, Lsn from, Lsn to, NodeId donorId, URI donorUrl, NodeId self,
                             String token, Sink sink) {
        SafekeeperState state = timeline.acceptor().state();
        SafekeeperClient donor = new SafekeeperClient(donorUrl, token);
        try {
            Lsn pos = from;
            byte[] buf = new byte[CHUNK];
            long fromStorage = 0;
            ValidatedWal validated = new ValidatedWal(from, Timeline.WAL_PAGE_SIZE, state.walSegmentSize(), state.systemId());
            // The donor answers at most a bounded range per request: ask until the end.
            while (pos.isBefore(to)) {
                Lsn before = pos;
                if (timeline.offloading() && pos.isBefore(timeline.offloadedLsn())) {
                    // Old WAL from object storage (the donor may no longer hold it either), checked
                    // exactly like the donor's; the rest, above the offloaded LSN, from the donor.
                    byte[] chunk = timeline.readOffloaded(pos, (int) Math.min(CHUNK, to.minus(pos)));
                    ValidatedWal.Released ok = validated.accept(pos, chunk, 0, chunk.length);
                    if (ok != null) {
                        sink.append(ok.start(), ok.buffer(), ok.offset(), ok.length());
                    }
                    pos = pos.plus(chunk.length);
                    fromStorage += chunk.length;
                    if (pos.equals(before)) {
                        throw new IOException("object storage returned no WAL at " + pos);
                    }
                    continue;
                }
                try (InputStream in = donor.readWal(timeline.id(), pos, to)) {
                    int n;
                    while ((n = in.readNBytes(buf, 0, CHUNK)) > 0) {
                        if (pos.plus(n).isAfter(to)) {
                            throw new IOException("donor " + donorId + " sent WAL up to " + pos.plus(n)
                                    + ", beyond the requested end " + to);
                        }
                        ValidatedWal.Released ok = validated.accept(pos, buf, 0, n);
                        if (ok != null) {
                            sink.append(ok.start(), ok.buffer(), ok.offset(), ok.length());
                        }
                        pos = pos.plus(n);
                    }
                }
                if (pos.equals(before)) {
                    throw new IOException("donor " + donorId + " sent no WAL at " + pos);
                }
            }
            if (validated.releasedEnd().isBefore(to)) {
                throw new WalDecodeException(validated.releasedEnd(), "donor " + donorId
                        + " sent WAL up to " + to + " that ends in an incomplete record after " + validated.releasedEnd());
            }
            Lsn flushed = timeline.acceptor().flush();
            timeline.acceptor().persist();
            if (flushed.isBefore(to)) {
                log.warn("node={} timeline={} recovery stopped at {} short of {}", self, timeline.id(), flushed, to);
            } else {
                log.info("node={} timeline={} recovered up to {} ({} bytes from object storage)", self, timeline.id(),
                        flushed, fromStorage);
            }
        } catch (WalDecodeException e) {
            // Nothing from the bad record on was stored; the valid records below it are kept.
            Lsn kept = timeline.acceptor().flush();
            log.error("node={} timeline={} refusing WAL from donor {}: {}; recovery stopped at {}", self, timeline.id(),
                    donorId, e.getMessage(), kept);
        } catch (IOException | RuntimeException e) {
            log.warn("node={} timeline={} recovery from {} failed: {}", self, timeline.id(), donorId, e.toString());
        }
    }
}
