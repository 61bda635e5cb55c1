package dev.strata.pageserver.ingest;

import dev.strata.pageserver.redo.RedoOracle;
import dev.strata.pageserver.timeline.IngestPosition;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.wal.DecodedRecord;

/**
 * Turns decoded WAL records, in order, into puts on one timeline's {@link LayerStore}: each
 * record's changes at its end LSN, then the timeline's {@link IngestPosition} moves to that
 * record (its end and start), the only place the position is kept.
 * Single-threaded (the timeline's ingest thread). After an {@link IngestException} the
 * timeline is stopped: every later call throws the same error, so nothing is ingested past
 * a record we could not apply.
 */
public final class WalIngest {

    private final LayerStore store;
    private volatile java.util.function.Supplier<Lsn> durableLsnSource;
    private final RmgrRegistry registry;
    private final IngestContext context;
    private final RedoOracle oracle;
    private final IngestPosition position;
    private IngestException stopped;

    /**
     * @param dataChecksums whether the cluster has data checksums (pg_control): then every page
     *                      put gets its checksum recomputed (stamping pd_lsn changes the page)
     * @param base          whether relations older than the timeline start were imported
     */
    public WalIngest(LayerStore store, RmgrRegistry registry, boolean dataChecksums, TimelineBase base) {
        this(store, registry, dataChecksums, base, store.prevRecordLsn());
    }

    /**
     * @param prevRecordLsn start LSN of the record that ends at the store's last record LSN (the
     *                      first record's expected {@code xl_prev}), e.g. initdb's checkpoint
     *                      record for an imported timeline; {@link Lsn#INVALID} if unknown. The
     *                      other constructor takes the store's ({@code LayerStore.prevRecordLsn()},
     *                      persisted with the disk-consistent LSN). A valid one is recorded in
     *                      the position if it holds none yet
     */
    public WalIngest(LayerStore store, RmgrRegistry registry, boolean dataChecksums, TimelineBase base,
                     Lsn prevRecordLsn) {
        this(store, registry, dataChecksums, base, prevRecordLsn, RedoOracle.defaults());
    }

    /**
     * @param oracle checks the Java redo routines against the consistency-check images records
     *               carry (see {@link RedoOracle}); it never changes what is stored
     */
    public WalIngest(LayerStore store, RmgrRegistry registry, boolean dataChecksums, TimelineBase base,
                     Lsn prevRecordLsn, RedoOracle oracle) {
        this.store = store;
        this.oracle = oracle;
        this.registry = registry;
        this.context = new IngestContext(store, base, dataChecksums);
        this.position = store.position();
        IngestPosition.Snapshot at = position.snapshot();
        if (prevRecordLsn != null && prevRecordLsn.isValid() && !at.prevRecordLsn().isValid()
                && prevRecordLsn.isBefore(at.lastRecordLsn())) {
            position.recordIngested(at.lastRecordLsn(), prevRecordLsn);
        }
    }

    /**
     * Ingests one record. Records at or below the last record LSN (a reconnect that resent
     * WAL) are skipped, so the store's "LSNs never go back" holds.
     */
    public void ingest(DecodedRecord record) {
        if (stopped != null) {
            throw stopped;
        }
        if (!record.endLsn().isAfter(position.lastRecordLsn())) {
            return;
        }
        RmgrIngest handler = registry.forId(record.rmid());
        try {
            if (handler == null) {
                throw new IngestException(record, "no ingest for this resource manager (custom or unsupported)");
            }
            context.begin(record);
            // Before the handler: the previous versions are the store's, not this record's images.
            oracle.check(record, b -> context.latestPage(b.locator(), b.forkNumber(), b.blockNumber()));
            handler.ingest(record, context);
            // xact.c: every xid in WAL was assigned, so nextXid must pass it.
            context.advanceNextXid((int) record.xid());
        } catch (IngestException e) {
            context.abandon();
            stopped = e;
            throw e;
        } catch (RuntimeException e) {
            context.abandon();
            // A damaged image or main data: stop as well, naming the record.
            stopped = new IngestException(record, e.toString());
            stopped.initCause(e);
            throw stopped;
        }
        context.commit();
        // Only now, with every put of the record in the store: readers waiting for it wake.
        position.recordIngested(record.endLsn(), record.startLsn()); // the pair a flush persists
    }

    /** The timeline this ingest fills (its store's). */
    public dev.strata.pgcore.id.TimelineId timelineId() {
        return store.timelineId();
    }

    /** The timeline's ingest position (the store's), which this ingest advances. */
    public IngestPosition position() {
        return position;
    }

    /** End LSN of the last ingested record: every value at or below it is complete. */
    public Lsn lastRecordLsn() {
        return position.lastRecordLsn();
    }

    /**
     * The LSN this pageserver reports to its WAL sources as durable (the flush position of its
     * status updates), below which a safekeeper may remove WAL: the disk-consistent LSN (in layer
     * files; after a crash ingest resumes there), or, with remote storage, what {@link
     * #durableLsnSource} says (the remote-consistent LSN: in S3, so that losing this disk loses
     * no WAL that is not in S3 yet; decision 0016).
     */
    public Lsn durableLsn() {
        java.util.function.Supplier<Lsn> source = durableLsnSource;
        return source == null ? store.diskConsistentLsn() : source.get();
    }

    /** Replaces what {@link #durableLsn()} answers (null: the disk-consistent LSN). */
    public void durableLsnSource(java.util.function.Supplier<Lsn> source) {
        this.durableLsnSource = source;
    }

    /** Start LSN of the last ingested record: the {@code xl_prev} the next record must carry. */
    public Lsn prevRecordLsn() {
        return position.snapshot().lastRecordStart();
    }

    /** Changes skipped on forks older than a {@link TimelineBase#WAL_ONLY} start (see there). */
    public long skippedOnUnseenForks() {
        return context.skippedOnUnseenForks();
    }

    /** SLRU changes (CLOG bits, multixacts) skipped on pages older than a {@link TimelineBase#WAL_ONLY} start. */
    public long skippedSlruChanges() {
        return context.skippedSlruChanges();
    }

    /** How many records changed the timeline's CheckPoint value (it is put only when it changes). */
    public long checkpointUpdates() {
        return context.checkpointPuts();
    }

    /**
     * Blocks ingest stored as PostgreSQL records, replayed by Java redo when read (no image:
     * the manager is out of wal_consistency_checking), per record type. Any thread.
     */
    public java.util.Map<String, Long> storedRecordCounts() {
        return context.storedRecordCounts();
    }

    /**
     * How many records a block may pile up above its last image before ingest stores the
     * replayed page instead (default 128, or the system property
     * {@code strata.redo.max-record-chain}); for tests.
     */
    void maxRecordChain(int records) {
        context.maxRecordChain(records);
    }

    /** The redo oracle's counters for this timeline's ingest. */
    public RedoOracle redoOracle() {
        return oracle;
    }

    /** The error that stopped this timeline's ingest, or null. */
    public IngestException stopped() {
        return stopped;
    }
}
