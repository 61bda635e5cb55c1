package dev.strata.safekeeper.election;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;
import dev.strata.pgcore.term.TermLsn;
import dev.strata.pgcore.testing.SmallFilesystem;
import dev.strata.safekeeper.control.ControlFileStore;
import dev.strata.safekeeper.control.SafekeeperState;
import dev.strata.safekeeper.wal.SegmentedWalStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The acceptor's state is persisted before it is used: a control file write that fails (a real
 * full disk) leaves the in-memory promise and term history as they were; and terms far beyond
 * the promised one are refused.
 */
class AcceptorFaultTest {

    private static final int SEG = 1 << 20;
    private static final Lsn START = Lsn.ofSegment(1, SEG);
    private static final TimelineId TL = TimelineId.random();

    private static Acceptor open(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ControlFileStore store = new ControlFileStore(dir);
        SafekeeperState state = store.load().orElseGet(() -> {
            SafekeeperState s = SafekeeperState.create(TL, 1, SEG, START);
            store.persist(s);
            return s;
        });
        return new Acceptor(state, store, new SegmentedWalStore(dir.resolve("wal"), SEG, START, state.flushLsn()));
    }

    private static ElectedRequest elected(long term, Lsn epochStart) {
        return new ElectedRequest(TL, Term.of(term), TermHistory.EMPTY.append(TermLsn.of(term, epochStart)), epochStart,
                NodeId.of("sk-1"), "http://127.0.0.1:1");
    }

    @Test
    void aControlFileWriteThatFailsOnAFullDiskChangesNothingInMemory(@TempDir Path tmp) {
        try (SmallFilesystem fs = SmallFilesystem.mount(tmp, 2)) {
            Path dir = fs.root().resolve("timeline");
            Acceptor a = open(dir);
            assertThat(a.vote(new VoteRequest(TL, Term.of(2))).granted()).isTrue();
            SafekeeperState before = a.state();

            fs.fill();
            assertThatThrownBy(() -> a.vote(new VoteRequest(TL, Term.of(3))))
                    .isInstanceOf(UncheckedIOException.class).hasMessageContaining("could not persist")
                    .hasRootCauseMessage("No space left on device");
            assertThat(a.state().promisedTerm()).as("the failed promise is not in memory either").isEqualTo(Term.of(2));
            // Term 2's election goes on as if the failed vote never happened.
            assertThatThrownBy(() -> a.elected(elected(2, START)))
                    .isInstanceOf(UncheckedIOException.class).hasRootCauseMessage("No space left on device");
            assertThat(a.state()).isEqualTo(before);
            assertThat(a.epochStart()).as("no term history adopted in memory").isEmpty();
            assertThatThrownBy(() -> a.append(Term.of(2), START, new byte[8], 0, 8))
                    .as("WAL of a term whose adoption is not durable").isInstanceOf(TermRefusedException.class);

            fs.free();
            assertThat(a.elected(elected(2, START)).term()).isEqualTo(Term.of(2));
            assertThat(a.vote(new VoteRequest(TL, Term.of(3))).granted()).isTrue();
            assertThat(open(dir).state().promisedTerm()).isEqualTo(Term.of(3));
        }
    }

    @Test
    void aVoteFarBeyondThePromisedTermIsRefusedAndLaterElectionsWork(@TempDir Path dir) {
        Acceptor a = open(dir);
        assertThatThrownBy(() -> a.vote(new VoteRequest(TL, Term.of(Long.MAX_VALUE))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("vote for term " + Long.MAX_VALUE + " refused")
                .hasMessageContaining("more than 4294967296 above the promised term 0");
        assertThat(a.state().promisedTerm()).isEqualTo(Term.ZERO);
        assertThat(open(dir).state().promisedTerm()).as("nothing persisted").isEqualTo(Term.ZERO);

        assertThatThrownBy(() -> a.vote(new VoteRequest(TL, Term.of(Acceptor.MAX_TERM_STEP + 1))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(a.vote(new VoteRequest(TL, Term.of(Acceptor.MAX_TERM_STEP))).granted()).as("exactly the bound").isTrue();
        // The next election's term is computable again (this overflowed before the bound).
        Term next = a.state().promisedTerm().next();
        assertThat(a.vote(new VoteRequest(TL, next)).granted()).isTrue();
    }
}
