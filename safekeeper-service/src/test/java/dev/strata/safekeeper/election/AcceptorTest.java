package dev.strata.safekeeper.election;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;
import dev.strata.pgcore.term.TermLsn;
import dev.strata.safekeeper.control.ControlFileStore;
import dev.strata.safekeeper.control.SafekeeperState;
import dev.strata.safekeeper.wal.SegmentedWalStore;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The acceptor on real files: control file and WAL segments in a temporary directory. */
class AcceptorTest {

    private static final int SEG = 1 << 20;
    private static final Lsn START = Lsn.ofSegment(1, SEG);
    private static final TimelineId TL = TimelineId.random();

    private static Acceptor open(Path dir) {
        ControlFileStore store = new ControlFileStore(dir);
        SafekeeperState state = store.load().orElseGet(() -> SafekeeperState.create(TL, 1, SEG, START));
        return new Acceptor(state, store, new SegmentedWalStore(dir.resolve("wal"), SEG, START, state.flushLsn()));
    }

    private static ElectedRequest elected(long term, TermHistory donorHistory, Lsn epochStart) {
        return new ElectedRequest(TL, Term.of(term), donorHistory.append(TermLsn.of(term, epochStart)), epochStart,
                NodeId.of("sk-1"), "http://127.0.0.1:1");
    }

    @Test
    void votesOnlyForHigherTermsAndThePromiseIsDurable(@TempDir Path dir) {
        Acceptor a = open(dir);
        assertThat(a.vote(new VoteRequest(TL, Term.of(3))).granted()).isTrue();
        VoteResponse again = a.vote(new VoteRequest(TL, Term.of(3)));
        assertThat(again.granted()).isFalse();
        assertThat(again.promisedTerm()).isEqualTo(Term.of(3));
        assertThat(a.vote(new VoteRequest(TL, Term.of(2))).granted()).isFalse();
        Acceptor reopened = open(dir);
        assertThat(reopened.state().promisedTerm()).isEqualTo(Term.of(3));
        assertThat(reopened.vote(new VoteRequest(TL, Term.of(3))).granted()).isFalse();
    }

    @Test
    void acceptsWalOnlyFromTheElectedTerm(@TempDir Path dir) {
        Acceptor a = open(dir);
        a.vote(new VoteRequest(TL, Term.of(1)));
        byte[] data = new byte[100];
        assertThatThrownBy(() -> a.append(Term.of(1), START, data, 0, 100))
                .as("not yet elected").isInstanceOf(TermRefusedException.class);
        a.elected(elected(1, TermHistory.EMPTY, START));
        a.append(Term.of(1), START, data, 0, 100);
        assertThat(a.flush()).isEqualTo(START.plus(100));

        a.vote(new VoteRequest(TL, Term.of(2)));
        assertThatThrownBy(() -> a.append(Term.of(1), START.plus(100), data, 0, 100))
                .as("a stale compute is refused once a higher term is promised")
                .isInstanceOf(TermRefusedException.class).hasMessageContaining("promised term is 2");
    }

    @Test
    void divergentTailIsTruncatedToTheCommonPoint(@TempDir Path dir) {
        Acceptor a = open(dir);
        a.vote(new VoteRequest(TL, Term.of(1)));
        a.elected(elected(1, TermHistory.EMPTY, START));
        a.append(Term.of(1), START, new byte[500], 0, 500);
        a.flush();
        // Term 2's donor had term 1's WAL only up to START+300, then term 2 wrote from there.
        a.vote(new VoteRequest(TL, Term.of(3)));
        TermHistory donor = TermHistory.of(TermLsn.of(1, START), TermLsn.of(2, START.plus(300)));
        ElectedResponse r = a.elected(elected(3, donor, START.plus(800)));
        assertThat(r.flushLsn()).isEqualTo(START.plus(300));
        assertThat(r.needsRecovery()).isTrue();
        assertThat(a.state().termHistory().lastTerm()).isEqualTo(Term.of(3));

        // Peer recovery may fill up to, not beyond, the epoch start.
        assertThatThrownBy(() -> a.appendRecovered(Term.of(3), START.plus(300), new byte[600], 0, 600))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("beyond the epoch start");
        a.appendRecovered(Term.of(3), START.plus(300), new byte[500], 0, 500);
        assertThat(a.flush()).isEqualTo(START.plus(800));
        Acceptor reopened = open(dir);
        assertThat(reopened.state().termHistory()).isEqualTo(donor.append(TermLsn.of(3, START.plus(800))));
    }

    @Test
    void electedForAnotherTermIsRefused(@TempDir Path dir) {
        Acceptor a = open(dir);
        a.vote(new VoteRequest(TL, Term.of(4)));
        assertThatThrownBy(() -> a.elected(elected(3, TermHistory.EMPTY, START)))
                .isInstanceOf(TermRefusedException.class);
    }

    @Test
    void commitLsnNeverGoesBackwards(@TempDir Path dir) {
        Acceptor a = open(dir);
        assertThat(a.advanceCommitLsn(START.plus(100))).isTrue();
        assertThat(a.advanceCommitLsn(START.plus(50))).isFalse();
        assertThat(a.state().commitLsn()).isEqualTo(START.plus(100));
    }
}
