package dev.strata.safekeeper.gossip;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.safekeeper.election.PeerPosition;
import java.util.List;
import java.util.Objects;

/**
 * One position datagram: a safekeeper's (term, flush LSN, commit LSN) for some of its
 * timelines, as it sends them to every peer. {@code sequence} grows with every datagram the
 * sender makes (its clock in microseconds, kept strictly increasing), so a receiver can drop
 * datagrams that arrive late or twice.
 */
public record PositionDatagram(NodeId sender, long sequence, List<Entry> entries) {

    /** One timeline's position; the node is the datagram's sender. */
    public record Entry(TimelineId timeline, PeerPosition position) {
        public Entry {
            Objects.requireNonNull(timeline, "timeline is null");
            Objects.requireNonNull(position, "position is null");
        }
    }

    public PositionDatagram {
        Objects.requireNonNull(sender, "sender is null");
        entries = List.copyOf(entries);
        for (Entry e : entries) {
            if (!e.position().node().equals(sender)) {
                throw new IllegalArgumentException("an entry for node " + e.position().node() + " in a datagram from " + sender);
            }
        }
    }
}
