package dev.strata.safekeeper.offload;

import dev.strata.pgcore.id.NodeId;
import java.util.Map;

/**
 * Which member uploads a timeline's WAL: the live member with the lowest node id, where live
 * means this node itself, or a peer whose position datagram arrived within the window. Every
 * member computes it from the same gossip, so they agree once their views agree; while they
 * do not (a peer just died or came back), two may upload the same segment, which is harmless
 * (the same bytes under the same key). A takeover happens one window after the uploader's
 * last datagram.
 */
public final class UploaderChoice {

    private UploaderChoice() {
    }

    /**
     * @param lastHeardNanos when ({@link System#nanoTime()}) each peer was last heard from
     * @param nowNanos       now, on the same clock
     * @param windowNanos    how long a silent peer still counts as live
     */
    public static NodeId choose(NodeId self, Map<NodeId, Long> lastHeardNanos, long nowNanos, long windowNanos) {
        NodeId best = self;
        for (Map.Entry<NodeId, Long> e : lastHeardNanos.entrySet()) {
            if (nowNanos - e.getValue() <= windowNanos && e.getKey().compareTo(best) < 0) {
                best = e.getKey();
            }
        }
        return best;
    }
}
