package dev.strata.safekeeper.election;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import org.junit.jupiter.api.Test;

/** A peer lying about its position cannot make WAL committed on its own: a majority is needed. */
class CommitTrackerTest {

    private static final NodeId SELF = NodeId.of("sk-1");
    private static final NodeId HONEST = NodeId.of("sk-2");
    private static final NodeId LIAR = NodeId.of("sk-3");
    private static final Term T = Term.of(4);
    private static final Lsn HUGE = Lsn.parse("FFFF/0");

    private static PeerPosition at(NodeId n, Term promised, Term last, String flush) {
        return new PeerPosition(n, promised, last, Lsn.parse(flush), Lsn.INVALID);
    }

    @Test
    void aLiarAloneCommitsNothing() {
        CommitTracker c = new CommitTracker();
        c.update(new PeerPosition(LIAR, T, T, HUGE, HUGE));
        assertThat(c.commitLsn(T, 2)).isEmpty();
    }

    @Test
    void aHugeFlushFromOnePeerCommitsOnlyWhatAnHonestMemberHolds() {
        CommitTracker c = new CommitTracker();
        c.update(at(SELF, T, T, "0/3000000"));
        c.update(at(HONEST, T, T, "0/2000000"));
        c.update(new PeerPosition(LIAR, T, T, HUGE, Lsn.INVALID));
        // the liar plus the best honest member is a majority, but only up to what that member holds
        assertThat(c.commitLsn(T, 2)).contains(Lsn.parse("0/3000000"));
        // with five members (quorum 3) the lie moves nothing beyond the honest majority
        c.update(at(NodeId.of("sk-4"), T, T, "0/1000000"));
        c.update(at(NodeId.of("sk-5"), T, T, "0/1000000"));
        assertThat(c.commitLsn(T, 3)).contains(Lsn.parse("0/2000000"));
    }

    @Test
    void aLiarOfAnotherTermIsNotCounted() {
        CommitTracker c = new CommitTracker();
        c.update(at(SELF, T, T, "0/3000000"));
        c.update(new PeerPosition(LIAR, Term.of(9), Term.of(9), HUGE, HUGE));
        assertThat(c.commitLsn(T, 2)).isEmpty();
        c.update(new PeerPosition(LIAR, Term.of(3), Term.of(3), HUGE, HUGE));
        assertThat(c.commitLsn(T, 2)).as("an older term cannot replace a newer report").isEmpty();
    }

    @Test
    void aPositionWithWalAboveItsPromiseIsRejected() {
        assertThatThrownBy(() -> new PeerPosition(LIAR, Term.of(1), Term.of(2), HUGE, HUGE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("above its promised term");
    }

    @Test
    void quorumBelowOneIsRefused() {
        assertThatThrownBy(() -> new CommitTracker().commitLsn(T, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
