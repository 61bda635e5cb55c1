package dev.strata.safekeeper.election;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;
import dev.strata.pgcore.term.TermLsn;
import dev.strata.safekeeper.control.SafekeeperState;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The acceptor side of the safekeepers' Paxos for one timeline (architecture §3): grants
 * votes, adopts an elected proposer's term history, and accepts WAL only from the term it
 * has promised, contiguously, after it holds everything below that term's epoch start.
 *
 * <p>Every state change is persisted through {@link StateStore} before it is used: the new
 * state is built aside, written, and only then becomes the acceptor's state, so a failed write
 * (a full disk) leaves the acceptor exactly as it was and nothing is promised that a restart
 * would forget. The acceptor does no network I/O: the receiver, the HTTP
 * API and peer recovery call it, and it writes through {@link WalStorage}.
 */
public final class Acceptor {

    /** Durable home of the acceptor's state (the control file). */
    public interface StateStore {
        void persist(SafekeeperState state);
    }

    /** The WAL this acceptor holds. */
    public interface WalStorage {
        Lsn writeLsn();

        Lsn flushLsn();

        void append(Lsn at, byte[] data, int off, int len);

        Lsn flush();

        void truncate(Lsn end);
    }

    private static final Logger log = LoggerFactory.getLogger(Acceptor.class);

    /**
     * The largest step a vote may take above the promised term: 2^32. Terms grow by one per
     * election, so no honest proposer comes near it, while a term near {@code Long.MAX_VALUE}
     * (a bug or a hostile caller) would make every later election overflow computing the next
     * term. A vote beyond it is refused with {@link IllegalArgumentException}.
     */
    public static final long MAX_TERM_STEP = 1L << 32;

    private final StateStore store;
    private final WalStorage wal;
    private SafekeeperState state;

    public Acceptor(SafekeeperState state, StateStore store, WalStorage wal) {
        this.state = state;
        this.store = store;
        this.wal = wal;
    }

    public synchronized SafekeeperState state() {
        return state.withFlushLsn(wal.flushLsn());
    }

    /** Grants a vote iff {@code req.term} is above every term promised so far; the promise is durable first. */
    public synchronized VoteResponse vote(VoteRequest req) {
        checkTermStep(req.term());
        Lsn flush = wal.flushLsn();
        if (!req.term().isAfter(state.promisedTerm())) {
            log.info("timeline={} refused vote for term {}: promised term is {}", state.timelineId(), req.term(), state.promisedTerm());
            return new VoteResponse(false, state.promisedTerm(), state.termHistory().upTo(flush), flush, state.timelineStartLsn());
        }
        SafekeeperState next = state.withPromisedTerm(req.term()).withFlushLsn(flush);
        store.persist(next);
        state = next;
        log.info("timeline={} voted for term {} flush={} lastTerm={}", state.timelineId(), req.term(), flush,
                state.termHistory().upTo(flush).lastTerm());
        return new VoteResponse(true, req.term(), state.termHistory().upTo(flush), flush, state.timelineStartLsn());
    }

    /**
     * Adopts the elected proposer's history: truncates WAL that diverges from it (durably, before
     * the new history is persisted) and reports whether WAL below the epoch start is missing.
     */
    public synchronized ElectedResponse elected(ElectedRequest req) {
        if (!req.term().equals(state.promisedTerm())) {
            throw new TermRefusedException("elected message for term " + req.term() + " but the promised term is "
                    + state.promisedTerm(), state.promisedTerm());
        }
        Lsn flush = wal.flushLsn();
        TermHistory mine = state.termHistory().upTo(flush);
        Lsn keep = TermHistory.highestCommonPoint(mine, flush, req.history(), req.epochStartLsn())
                .map(TermLsn::lsn)
                .orElse(state.timelineStartLsn());
        keep = Lsn.max(keep, state.timelineStartLsn());
        if (keep.isBefore(wal.writeLsn())) {
            log.warn("timeline={} term={} truncating divergent WAL from {} to {}", state.timelineId(), req.term(),
                    wal.writeLsn(), keep);
            wal.truncate(keep);
        }
        Lsn now = wal.flushLsn();
        SafekeeperState next = state.withTermHistory(req.history()).withFlushLsn(now)
                .withCommitLsn(Lsn.min(state.commitLsn(), now));
        store.persist(next);
        state = next;
        boolean needsRecovery = now.isBefore(req.epochStartLsn());
        log.info("timeline={} adopted term {} epochStart={} flush={} needsRecovery={}", state.timelineId(), req.term(),
                req.epochStartLsn(), now, needsRecovery);
        return new ElectedResponse(req.term(), now, needsRecovery);
    }

    /**
     * Appends WAL written in {@code term} at {@code at}. Refused (the sender must stop) unless
     * {@code term} is the promised term and this acceptor has adopted it; the bytes must follow
     * the WAL held here without a gap. Not durable until {@link #flush()}.
     */
    public synchronized void append(Term term, Lsn at, byte[] data, int off, int len) {
        checkCurrent(term);
        if (!at.equals(wal.writeLsn())) {
            throw new IllegalArgumentException("timeline " + state.timelineId() + ": WAL at " + at
                    + " does not follow the WAL held here, which ends at " + wal.writeLsn());
        }
        wal.append(at, data, off, len);
    }

    /**
     * Appends WAL fetched from the donor below the epoch start of {@code term} (peer recovery).
     * It must not go beyond the epoch start: WAL above it comes only from the compute.
     */
    public synchronized void appendRecovered(Term term, Lsn at, byte[] data, int off, int len) {
        checkCurrent(term);
        Lsn epochStart = epochStart().orElseThrow();
        if (at.plus(len).isAfter(epochStart)) {
            throw new IllegalArgumentException("recovered WAL [" + at + ", " + at.plus(len) + ") reaches beyond the epoch start "
                    + epochStart + " of term " + term);
        }
        append(term, at, data, off, len);
    }

    /**
     * Appends WAL of {@code term} fetched from a peer of the same term, below the commit LSN
     * known here: the catch-up of a member whose compute no longer has the WAL it needs (it lost
     * its disk, or its slot was invalidated). Committed WAL of the current term is the same
     * bytes on every member that holds it and is never truncated, so it may come from any of
     * them; nothing above the commit LSN is taken from a peer (that comes only from the compute).
     */
    public synchronized void appendCommitted(Term term, Lsn at, byte[] data, int off, int len) {
        checkCurrent(term);
        if (at.plus(len).isAfter(state.commitLsn())) {
            throw new IllegalArgumentException("WAL [" + at + ", " + at.plus(len) + ") from a peer reaches beyond the "
                    + "commit LSN " + state.commitLsn() + " of term " + term);
        }
        append(term, at, data, off, len);
    }

    /** Forces appended WAL to disk; returns the new flush LSN, which may now be acknowledged. */
    public Lsn flush() {
        return wal.flush();
    }

    /** Where the current term's WAL starts, once a term has been adopted. */
    public synchronized Optional<Lsn> epochStart() {
        TermHistory h = state.termHistory();
        if (h.isEmpty() || !h.lastTerm().equals(state.promisedTerm())) {
            return Optional.empty();
        }
        return Optional.of(h.entries().getLast().lsn());
    }

    /** Raises the commit LSN learned from the quorum; never lowers it. Persisted lazily by the caller. */
    public synchronized boolean advanceCommitLsn(Lsn commit) {
        if (!commit.isAfter(state.commitLsn())) {
            return false;
        }
        state = state.withCommitLsn(commit);
        return true;
    }

    /** Raises the pageserver's remote-consistent LSN; never lowers it. Persisted lazily by the caller. */
    public synchronized void advanceRemoteConsistentLsn(Lsn lsn) {
        if (lsn.isAfter(state.remoteConsistentLsn())) {
            state = state.withRemoteConsistentLsn(lsn);
        }
    }

    /**
     * Raises the offloaded LSN (WAL below it is in object storage); never lowers it. Returns
     * whether it moved. Persisted by the caller: at once by the uploader, lazily by the others.
     */
    public synchronized boolean advanceOffloadedLsn(Lsn lsn) {
        if (!lsn.isAfter(state.offloadedLsn())) {
            return false;
        }
        state = state.withOffloadedLsn(lsn);
        return true;
    }

    /** Persists the current state (commit LSN, flush LSN) now; used for lazy persistence. */
    public synchronized void persist() {
        SafekeeperState next = state.withFlushLsn(wal.flushLsn());
        store.persist(next);
        state = next;
    }

    /** Throws {@link TermRefusedException} unless {@code term} is the promised and adopted term. */
    public synchronized void requireCurrentTerm(Term term) {
        checkCurrent(term);
    }

    private void checkTermStep(Term term) {
        Term promised = state.promisedTerm();
        if (term.value() - promised.value() > MAX_TERM_STEP || term.value() == Long.MAX_VALUE) {
            throw new IllegalArgumentException("timeline " + state.timelineId() + ": vote for term " + term
                    + " refused: more than " + MAX_TERM_STEP + " above the promised term " + promised
                    + " (terms grow by one per election; the largest acceptable now is "
                    + Math.min(promised.value() + MAX_TERM_STEP, Long.MAX_VALUE - 1) + ")");
        }
    }

    private void checkCurrent(Term term) {
        if (!term.equals(state.promisedTerm())) {
            throw new TermRefusedException("WAL of term " + term + " refused: the promised term is " + state.promisedTerm(),
                    state.promisedTerm());
        }
        if (!state.termHistory().lastTerm().equals(term)) {
            throw new TermRefusedException("WAL of term " + term + " refused: that term's election has not completed here",
                    state.promisedTerm());
        }
    }
}
