package dev.strata.safekeeper.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.safekeeper.election.PeerPosition;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WalRetentionTest {

    private static final NodeId SK2 = NodeId.of("sk-2");
    private static final NodeId SK3 = NodeId.of("sk-3");
    private static final Set<NodeId> PEERS = Set.of(SK2, SK3);

    private static PeerPosition at(NodeId n, String flush) {
        return new PeerPosition(n, Term.of(1), Term.of(1), Lsn.parse(flush), Lsn.INVALID);
    }

    private static Optional<Lsn> horizon(String commit, String remote, Map<NodeId, PeerPosition> known) {
        return WalRetention.horizon(Lsn.parse(commit), Lsn.parse(remote), Lsn.INVALID, known, PEERS);
    }

    @Test
    void theLowestOfCommitPageserverAndEveryPeer() {
        Map<NodeId, PeerPosition> known = Map.of(SK2, at(SK2, "0/9000000"), SK3, at(SK3, "0/8000000"));
        assertThat(horizon("0/A000000", "0/B000000", known)).contains(Lsn.parse("0/8000000")); // a lagging peer
        assertThat(horizon("0/A000000", "0/7000000", known)).contains(Lsn.parse("0/7000000")); // the pageserver
        assertThat(horizon("0/6000000", "0/B000000", known)).contains(Lsn.parse("0/6000000")); // the commit LSN
    }

    @Test
    void withOffloadNothingAboveTheOffloadedLsnIsRemoved() {
        Map<NodeId, PeerPosition> known = Map.of(SK2, at(SK2, "0/9000000"), SK3, at(SK3, "0/9000000"));
        assertThat(WalRetention.horizon(Lsn.parse("0/A000000"), Lsn.parse("0/9000000"), Lsn.parse("0/3000000"), known,
                PEERS)).as("S3 has less than the pageserver").contains(Lsn.parse("0/3000000"));
        assertThat(WalRetention.horizon(Lsn.parse("0/A000000"), Lsn.parse("0/2000000"), Lsn.parse("0/3000000"), known,
                PEERS)).as("the pageserver has less than S3").contains(Lsn.parse("0/2000000"));
        assertThat(WalRetention.horizon(Lsn.parse("0/A000000"), Lsn.parse("0/0"), Lsn.parse("0/3000000"), known,
                PEERS)).as("offloaded but no pageserver report").isEmpty();
    }

    @Test
    void nothingIsRemovedWhileAnythingIsUnknown() {
        Map<NodeId, PeerPosition> known = Map.of(SK2, at(SK2, "0/9000000"), SK3, at(SK3, "0/9000000"));
        assertThat(horizon("0/A000000", "0/0", known)).as("no pageserver has reported").isEmpty();
        assertThat(horizon("0/0", "0/9000000", known)).as("no commit LSN yet").isEmpty();
        assertThat(horizon("0/A000000", "0/9000000", Map.of(SK2, at(SK2, "0/9000000"))))
                .as("a peer never heard from").isEmpty();
    }
}
