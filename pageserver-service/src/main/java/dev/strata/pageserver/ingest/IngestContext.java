package dev.strata.pageserver.ingest;

import dev.strata.pageserver.datadir.BlockCount;
import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pageserver.datadir.NumberSet;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pageserver.datadir.ShutdownCheckpoint;
import dev.strata.pageserver.datadir.XactEnds;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.SlruKind;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.redo.PageserverRedo;
import dev.strata.pageserver.redo.RmgrRedo;
import dev.strata.pageserver.redo.PgRecordPayload;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pgcore.control.CheckPoint;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.RelFileLocator;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * What a {@link RmgrIngest} may do while one record is ingested: put pages, relation sizes
 * and metadata values at the record's end LSN, and read the latest value of a key. One per
 * timeline, used by the ingest thread only.
 *
 * <p>A record's puts are held until it has been handled completely ({@link #commit}); a
 * record that stops ingest halfway leaves nothing in the store, so no flush can make half a
 * record durable and no restart can resume after a record that was never applied.
 *
 * <p>Directories are the truth about what exists: a relation fork exists while it is in its
 * database's {@link RelDirectory} (from smgr create or its first block until it is dropped),
 * and its size key counts only then; a database exists while it is in the {@link DbDirectory}.
 * Values of dropped things stay in the store (it has no deletion) but are unreachable
 * through the directories. Decoded directories, sizes and the {@link CheckPoint} are cached
 * here (the store is the truth; the caches only save lookups and decoding per block write).
 */
public final class IngestContext {

    private static final int FORKS = 4;

    private final LayerStore store;
    private final TimelineBase base;
    private final boolean dataChecksums;
    private final PageserverRedo redo = new PageserverRedo();
    /** Committed decoded values of metadata keys (directories, sizes as Long). */
    private final Map<Key, Object> cache = new HashMap<>();
    /** This record's decoded metadata values, moved into {@link #cache} at commit. */
    private Map<Key, Object> pendingCache = new HashMap<>();
    /** This record's puts in order (a key put twice keeps its last value), until commit. */
    private Map<Key, Value> pending = new LinkedHashMap<>();
    /**
     * Above this many entries the two per-record maps are replaced rather than cleared. A
     * {@code HashMap} never shrinks and {@code clear()} walks its whole table, so one record that
     * put many keys (a relation extended over a gap of blocks, a database created from its
     * template) made every later record's clear that expensive: 12% of the pageserver's CPU in the
     * regression suite before.
     */
    private static final int REPLACE_ABOVE = 256;
    /**
     * Records stored per block since its last image, as far as this ingest saw (ingest thread
     * only; forgotten wholesale past {@link #CHAIN_KEYS_TRACKED} keys, and at a restart, so a
     * chain may grow to about twice the cap before it is cut).
     */
    private final Map<Key, Integer> chains = new HashMap<>();
    private static final int CHAIN_KEYS_TRACKED = 1 << 20;
    private int maxRecordChain = Integer.getInteger("strata.redo.max-record-chain", DEFAULT_MAX_RECORD_CHAIN);
    private DecodedRecord record;
    private long skippedOnUnseenForks;
    /** Blocks stored as PostgreSQL records (for Java redo on read), per record type; guarded by itself. */
    private final Map<String, long[]> storedRecords = new java.util.TreeMap<>();
    private long skippedSlruChanges;

    /** The CheckPoint as of the last committed record; null if the timeline has none (not loaded: {@link #checkpointLoaded}). */
    private CheckPoint checkpoint;
    private boolean checkpointLoaded;
    private CheckPoint pendingCheckpoint;
    private long checkpointPuts;

    /**
     * Records a block may pile up above its last image before ingest stores the page replayed
     * instead ({@link #putRecord}): bounds what one GetPage replays until image layers take over.
     */
    static final int DEFAULT_MAX_RECORD_CHAIN = 128;

    IngestContext(LayerStore store, TimelineBase base, boolean dataChecksums) {
        this.store = store;
        this.base = base;
        this.dataChecksums = dataChecksums;
    }

    public TimelineBase base() {
        return base;
    }

    /** Counts a change skipped because it touched a fork older than a {@link TimelineBase#WAL_ONLY} start. */
    void skippedOnUnseenFork() {
        skippedOnUnseenForks++;
    }

    long skippedOnUnseenForks() {
        return skippedOnUnseenForks;
    }

    /** Counts an SLRU change skipped because its page predates a {@link TimelineBase#WAL_ONLY} start. */
    void skippedSlruChange() {
        skippedSlruChanges++;
    }

    long skippedSlruChanges() {
        return skippedSlruChanges;
    }

    long checkpointPuts() {
        return checkpointPuts;
    }

    void begin(DecodedRecord r) {
        this.record = r;
        forgetRecord();
    }

    /** Writes the record's puts to the store: it has been handled completely. */
    void commit() {
        if (pendingCheckpoint != null && !pendingCheckpoint.equals(checkpoint)) {
            pending.put(Key.checkpoint(), new Value.Image(pendingCheckpoint.encode()));
            checkpoint = pendingCheckpoint;
            checkpointPuts++;
        }
        for (Map.Entry<Key, Value> e : pending.entrySet()) {
            store.put(e.getKey(), lsn(), e.getValue());
        }
        cache.putAll(pendingCache);
        forgetRecord();
    }

    /** Forgets the record's puts: it could not be handled. */
    void abandon() {
        forgetRecord();
    }

    private void forgetRecord() {
        if (pending.size() > REPLACE_ABOVE) {
            pending = new LinkedHashMap<>();
        } else {
            pending.clear();
        }
        if (pendingCache.size() > REPLACE_ABOVE) {
            pendingCache = new HashMap<>();
        } else {
            pendingCache.clear();
        }
        pendingCheckpoint = null;
    }

    /** The record being ingested. */
    DecodedRecord record() {
        return record;
    }

    /** The end LSN of the record being ingested: every put of it goes here. */
    public Lsn lsn() {
        return record.endLsn();
    }

    // ---------------------------------------------------------------- generic values

    /** Puts a value for this record. Two record operations on one key in one record are a bug of the caller. */
    public void put(Key key, Value value) {
        if (value instanceof Value.Record && pending.containsKey(key)) {
            throw new IllegalStateException("two changes of " + key.describe() + " in one record; merge them");
        }
        pending.put(key, value);
    }

    /** The latest value of a key (this record's puts first), reconstructed with {@link PageserverRedo}; null if none. */
    public byte[] latest(Key key) {
        Value v = pending.get(key);
        if (v instanceof Value.Image img) {
            return img.bytes().clone();
        }
        if (v != null) {
            // A record put in this record on top of the stored value.
            byte[] older = store.getValue(key, store.lastRecordLsn(), redo);
            return redo.apply(key, older, java.util.List.of((Value.Record) v));
        }
        byte[] value = store.getValue(key, store.lastRecordLsn(), redo);
        return value == null ? null : value.clone();
    }

    @SuppressWarnings("unchecked")
    private <T> T decoded(Key key, Function<byte[], T> decoder) {
        Object v = pendingCache.get(key);
        if (v == null) {
            v = cache.get(key);
        }
        if (v == null) {
            v = decoder.apply(latest(key));
            cache.put(key, v);
        }
        return (T) v;
    }

    private void putDecoded(Key key, Object decoded, byte[] encoded) {
        pendingCache.put(key, decoded);
        pending.put(key, new Value.Image(encoded));
    }

    // ---------------------------------------------------------------- pages and sizes

    /**
     * The default for block references. A block with an image (a full-page write, or a
     * consistency-check image, which is the page after the change) becomes that page, with the
     * routine applied to it where PostgreSQL's redo changes a restored image too
     * ({@link RmgrRedo#appliesOnImage}). A block
     * without one is stored as the record ({@link #putRecord}) if its resource manager has a
     * Java redo that handles the record type, unless the routine says the record does not change
     * it (a block registered for its lock only); otherwise ingest stops, naming the record, since
     * nothing could rebuild the page.
     */
    public void putImagesOrStop(DecodedRecord r) {
        Boolean replayable = null;
        for (BlockReference b : r.blocks()) {
            if (b.hasImage()) {
                RmgrRedo routine = PageserverRedo.routine(r.rmid());
                if (routine != null && routine.appliesOnImage(r, b)) {
                    // PostgreSQL changes this block after restoring the image, too (GiST's left child).
                    byte[] page = b.restoredPage();
                    routine.redo(r, b, page);
                    PageHeader.setLsn(page, lsn());
                    putPage(b.locator(), b.forkNumber(), b.blockNumber(), page);
                } else {
                    putImage(b);
                }
                continue;
            }
            if (replayable == null) {
                replayable = PageserverRedo.canReplay(r);
            }
            if (!replayable) {
                throw new IngestException(r, "block " + b.locator() + " fork " + b.forkNumber() + " blk " + b.blockNumber()
                        + " is modified without a page image, and this record type has no redo in the pageserver yet"
                        + " (enable wal_consistency_checking for it, or implement it)");
            }
            if (!PageserverRedo.routine(r.rmid()).changes(r, b)) {
                continue; // registered for its lock only: the page stays as it is
            }
            putRecord(r, b);
        }
    }

    /**
     * Stores block {@code b} of {@code r} as the record itself ({@link PgRecordPayload}), replayed
     * by {@link PageserverRedo} when the page is read, and extends the fork if needed. A block at
     * or past the fork's end (or in a fork we do not have) starts from zeros: a will-init record
     * needs nothing else; a visibility-map page is read by PostgreSQL's redo with
     * RBM_ZERO_ON_ERROR and initialised, so it is replayed here on a zero page and stored as an
     * image (the store may hold a version from before a truncation, which must not be its base).
     * Any other block past the end has no page to replay on (PostgreSQL would not apply the
     * record either; on a WAL-only timeline it is a relation older than the start): ingest stops.
     */
    void putRecord(DecodedRecord r, BlockReference b) {
        RelFileLocator rel = b.locator();
        int fork = b.forkNumber();
        long blockNo = b.blockNumber();
        long size = relationSize(rel, fork);
        boolean pastEnd = size < 0 || blockNo >= size;
        if (pastEnd && !b.willInit()) {
            if (fork != dev.strata.pgcore.wal.ForkNumber.VISIBILITY_MAP.ordinal()) {
                throw new IngestException(r, "block " + rel + " fork " + fork + " blk " + blockNo
                        + " is modified without a page image, past the end of its fork ("
                        + (size < 0 ? "a fork we do not have: a relation older than a WAL-only start?" : size + " blocks")
                        + "), and the record does not initialise it: nothing to replay it on");
            }
            byte[] page = redo.apply(blockKey(rel, fork, blockNo), null, java.util.List.of(
                    new Value.WalRecord(PgRecordPayload.encode(r, b.id(), dataChecksums), true)));
            putPage(rel, fork, blockNo, page);
            return;
        }
        Key key = blockKey(rel, fork, blockNo);
        Value.WalRecord value = new Value.WalRecord(PgRecordPayload.encode(r, b.id(), dataChecksums), b.willInit());
        int chain = b.willInit() ? 1 : chains.getOrDefault(key, 0) + 1;
        if (chain >= maxRecordChain) {
            // The chain is long enough: store the page as it is after this record instead.
            byte[] older = b.willInit() ? null : latest(key); // this record's puts included
            putPage(rel, fork, blockNo, redo.apply(key, older, java.util.List.of(value)));
            count("materialized (chain of " + maxRecordChain + ")");
            return;
        }
        if (chains.size() >= CHAIN_KEYS_TRACKED && !chains.containsKey(key)) {
            chains.clear();
        }
        chains.put(key, chain);
        pending.put(key, value);
        extendTo(rel, fork, blockNo, size);
        count(dev.strata.pgcore.wal.RmgrId.nameOf(r.rmid()) + "/" + r.recordTypeName());
    }

    private void count(String what) {
        synchronized (storedRecords) {
            storedRecords.computeIfAbsent(what, k -> new long[1])[0]++;
        }
    }

    /** Changes {@link #DEFAULT_MAX_RECORD_CHAIN} (tests). */
    void maxRecordChain(int records) {
        if (records < 1) {
            throw new IllegalArgumentException("max record chain " + records);
        }
        this.maxRecordChain = records;
    }

    /**
     * Blocks stored as records for redo on read, per record type ({@code Heap/INSERT}, ...),
     * and how many times a chain reached the cap and the replayed page was stored instead
     * ({@code materialized ...}); counted when put (a record that stops ingest afterwards is
     * counted too). Any thread.
     */
    Map<String, Long> storedRecordCounts() {
        Map<String, Long> out = new java.util.TreeMap<>();
        synchronized (storedRecords) {
            storedRecords.forEach((k, v) -> out.put(k, v[0]));
        }
        return out;
    }

    /** Puts the block's restored image, stamped with the record's end LSN, and extends the fork if needed. */
    public void putImage(BlockReference b) {
        byte[] page = b.restoredPage();
        PageHeader.setLsn(page, lsn());
        putPage(b.locator(), b.forkNumber(), b.blockNumber(), page);
    }

    /**
     * Puts a whole page (pd_lsn already as the caller wants) and extends the fork to cover it;
     * the first block of a fork we do not have makes the fork exist (relation directory).
     * With data checksums the checksum is recomputed, as a compute verifies it on every read.
     */
    public void putPage(RelFileLocator rel, int fork, long blockNo, byte[] page) {
        if (page.length != PageHeader.PAGE_SIZE) {
            throw new IllegalArgumentException("page of " + page.length + " bytes");
        }
        if (dataChecksums && !isZero(page)) { // an all-zero page is valid without a checksum (PageIsVerified)
            PageChecksum.set(page, blockNo);
        }
        Key key = blockKey(rel, fork, blockNo);
        pending.put(key, new Value.Image(page));
        chains.remove(key);
        extendTo(rel, fork, blockNo, relationSize(rel, fork));
    }

    /** Makes the fork (of {@code size} blocks, -1 if we do not have it) cover {@code blockNo}. */
    private void extendTo(RelFileLocator rel, int fork, long blockNo, long size) {
        if (blockNo + 1 > Math.max(size, 0)) {
            // Redo extends a fork when a block beyond its end is written (XLogReadBufferExtended),
            // and the blocks in between become zero pages. Write those zeros explicitly: after a
            // truncation the store still holds the old versions of those blocks, and they must
            // not come back. An unknown size (a fork never seen: VM and FSM forks are created
            // without WAL) has no old versions of ours to hide.
            for (long gap = Math.max(size, 0); size >= 0 && gap < blockNo; gap++) {
                pending.put(blockKey(rel, fork, gap), new Value.Image(new byte[PageHeader.PAGE_SIZE]));
            }
            setRelationSize(rel, fork, blockNo + 1);
        }
    }

    /** The latest page of a block, or null if ingest never wrote it. */
    public byte[] latestPage(RelFileLocator rel, int fork, long blockNo) {
        return latest(blockKey(rel, fork, blockNo));
    }

    /** The fork's size in blocks, or -1 if the fork does not exist for us (not in its relation directory). */
    public long relationSize(RelFileLocator rel, int fork) {
        Key k = sizeKey(rel, fork);
        Object cached = pendingCache.get(k);
        if (cached == null) {
            cached = cache.get(k);
        }
        if (cached != null) {
            return (Long) cached;
        }
        long size = -1;
        if (relDirectory((int) rel.spcOid(), (int) rel.dbOid()).contains((int) rel.relNumber(), fork)) {
            size = BlockCount.decode(latest(k));
        }
        cache.put(k, size);
        return size;
    }

    /** Sets a fork's size; a fork not in the relation directory is added (and its database to the database directory). */
    public void setRelationSize(RelFileLocator rel, int fork, long blocks) {
        Key k = sizeKey(rel, fork);
        pending.put(k, new Value.Image(BlockCount.encode(blocks)));
        pendingCache.put(k, blocks);
        int spc = (int) rel.spcOid();
        int db = (int) rel.dbOid();
        RelDirectory dir = relDirectory(spc, db);
        if (!dir.contains((int) rel.relNumber(), fork)) {
            putRelDirectory(spc, db, dir.with((int) rel.relNumber(), fork));
            addDatabase(spc, db);
        }
    }

    /**
     * Drops every fork of a relation (xact commit/abort): out of the directory, and each size
     * key it had is set to 0 (the store cannot delete it; a reader that skips the directory
     * then sees an empty fork rather than the old size). Its blocks become unreachable.
     */
    void dropRelation(RelFileLocator rel) {
        int spc = (int) rel.spcOid();
        int db = (int) rel.dbOid();
        RelDirectory dir = relDirectory(spc, db);
        if (dir.containsRelation((int) rel.relNumber())) {
            for (int fork = 0; fork < FORKS; fork++) {
                if (dir.contains((int) rel.relNumber(), fork)) {
                    pending.put(sizeKey(rel, fork), new Value.Image(BlockCount.encode(0)));
                }
            }
            putRelDirectory(spc, db, dir.withoutRelation((int) rel.relNumber()));
        }
        for (int fork = 0; fork < FORKS; fork++) {
            pendingCache.put(sizeKey(rel, fork), -1L);
        }
    }

    /** Drops every relation of a database (DROP DATABASE, or a database created anew over an old OID). */
    void dropAllRelations(int spcOid, int dbOid) {
        RelDirectory dir = relDirectory(spcOid, dbOid);
        for (RelDirectory.RelFork f : dir.entries()) {
            pending.put(Key.relationSize(spcOid, dbOid, f.relNumber(), f.fork()), new Value.Image(BlockCount.encode(0)));
        }
        putRelDirectory(spcOid, dbOid, RelDirectory.EMPTY);
        forgetDatabaseSizes(spcOid, dbOid);
    }

    // ---------------------------------------------------------------- directories

    public RelDirectory relDirectory(int spcOid, int dbOid) {
        return decoded(Key.relationDirectory(spcOid, dbOid), RelDirectory::decode);
    }

    /**
     * Replaces a database's relation directory. Sizes cached for that database are forgotten
     * (a database created anew, or dropped, must not see sizes of its previous incarnation).
     */
    void putRelDirectory(int spcOid, int dbOid, RelDirectory dir) {
        putDecoded(Key.relationDirectory(spcOid, dbOid), dir, dir.encode());
    }

    /** Forgets every cached size of a database (after its relation directory was replaced wholesale). */
    void forgetDatabaseSizes(int spcOid, int dbOid) {
        java.util.function.Predicate<Key> inDb = k -> k.field1() == 0 && k.field2() == spcOid && k.field3() == dbOid
                && k.field6() == Key.SIZE_MARKER;
        cache.keySet().removeIf(inDb);
        pendingCache.keySet().removeIf(inDb);
    }

    public DbDirectory dbDirectory() {
        return decoded(Key.databaseDirectory(), DbDirectory::decode);
    }

    void addDatabase(int spcOid, int dbOid) {
        DbDirectory dir = dbDirectory();
        if (!dir.contains(spcOid, dbOid)) {
            DbDirectory next = dir.with(spcOid, dbOid);
            putDecoded(Key.databaseDirectory(), next, next.encode());
        }
    }

    void removeDatabase(int spcOid, int dbOid) {
        DbDirectory dir = dbDirectory();
        if (dir.contains(spcOid, dbOid)) {
            DbDirectory next = dir.without(spcOid, dbOid);
            putDecoded(Key.databaseDirectory(), next, next.encode());
        }
    }

    /** The tablespaces besides pg_default and pg_global (CREATE/DROP TABLESPACE). */
    public NumberSet tablespaceDirectory() {
        return decoded(Key.tablespaceDirectory(), NumberSet::decode);
    }

    void addTablespace(int spcOid) {
        NumberSet dir = tablespaceDirectory();
        if (!dir.contains(spcOid)) {
            NumberSet next = dir.with(spcOid);
            putDecoded(Key.tablespaceDirectory(), next, next.encode());
        }
    }

    void removeTablespace(int spcOid) {
        NumberSet dir = tablespaceDirectory();
        if (dir.contains(spcOid)) {
            NumberSet next = dir.without(spcOid);
            putDecoded(Key.tablespaceDirectory(), next, next.encode());
        }
    }

    public NumberSet slruDirectory(SlruKind kind) {
        return decoded(Key.slruDirectory(kind), NumberSet::decode);
    }

    /** The SLRU segment's size in pages, -1 if the segment does not exist. */
    public long slruSegmentSize(SlruKind kind, int segment) {
        if (!slruDirectory(kind).contains(segment)) {
            return -1;
        }
        return decoded(Key.slruSegmentSize(kind, segment), v -> v == null ? 0L : BlockCount.decode(v));
    }

    /** Whether an SLRU page exists for us (its segment is in the directory and long enough). */
    public boolean slruPageExists(SlruKind kind, long pageNo) {
        int segment = (int) (pageNo / dev.strata.pageserver.redo.StrataRecord.SLRU_PAGES_PER_SEGMENT);
        int inSegment = (int) (pageNo % dev.strata.pageserver.redo.StrataRecord.SLRU_PAGES_PER_SEGMENT);
        return slruSegmentSize(kind, segment) > inSegment;
    }

    /** ZEROPAGE: the page becomes zeros; its segment exists and grows to cover it. */
    void zeroSlruPage(SlruKind kind, long pageNo) {
        int segment = (int) (pageNo / dev.strata.pageserver.redo.StrataRecord.SLRU_PAGES_PER_SEGMENT);
        int inSegment = (int) (pageNo % dev.strata.pageserver.redo.StrataRecord.SLRU_PAGES_PER_SEGMENT);
        pending.put(Key.slruPage(kind, segment, inSegment), new Value.Image(new byte[PageHeader.PAGE_SIZE]));
        NumberSet dir = slruDirectory(kind);
        if (!dir.contains(segment)) {
            NumberSet next = dir.with(segment);
            putDecoded(Key.slruDirectory(kind), next, next.encode());
        }
        long size = slruSegmentSize(kind, segment);
        if (size < inSegment + 1) {
            putDecoded(Key.slruSegmentSize(kind, segment), (long) (inSegment + 1), BlockCount.encode(inSegment + 1));
        }
    }

    /** Removes SLRU segments from the directory (their pages become unreachable). */
    void removeSlruSegments(SlruKind kind, java.util.function.IntPredicate which) {
        NumberSet dir = slruDirectory(kind);
        NumberSet next = dir;
        for (int seg : dir.toArray()) {
            if (which.test(seg)) {
                next = next.without(seg);
            }
        }
        if (!next.equals(dir)) {
            putDecoded(Key.slruDirectory(kind), next, next.encode());
        }
    }

    public NumberSet twoPhaseDirectory() {
        return decoded(Key.twoPhaseDirectory(), NumberSet::decode);
    }

    void putTwoPhaseFile(int xid, byte[] file) {
        pending.put(Key.twoPhaseFile(xid), new Value.Image(file));
        NumberSet dir = twoPhaseDirectory();
        if (!dir.contains(xid)) {
            NumberSet next = dir.with(xid);
            putDecoded(Key.twoPhaseDirectory(), next, next.encode());
        }
    }

    void removeTwoPhaseFile(int xid) {
        NumberSet dir = twoPhaseDirectory();
        if (dir.contains(xid)) {
            NumberSet next = dir.without(xid);
            putDecoded(Key.twoPhaseDirectory(), next, next.encode());
        }
    }

    // ---------------------------------------------------------------- transaction ends

    /**
     * Records that this record ends a transaction (commit, abort, prepare): the transaction-ends
     * value ({@link XactEnds}) moves to it; {@code time} is the commit's {@code xact_time}.
     */
    void transactionEnded(boolean commit, long time) {
        XactEnds now = decoded(Key.xactEnds(), XactEnds::decode);
        Lsn start = record.startLsn();
        XactEnds next = now == null ? XactEnds.first(start, lsn(), commit, time) : now.then(start, lsn(), commit, time);
        putDecoded(Key.xactEnds(), next, next.encode());
    }

    /**
     * Records that this record is a shutdown checkpoint: the start of the record before it
     * ({@code xl_prev}) under {@link Key#shutdownCheckpoint}, a {@code ShutdownCheckpoint} value.
     */
    void shutdownCheckpoint() {
        put(Key.shutdownCheckpoint(record.startLsn()),
                new Value.Image(new ShutdownCheckpoint(record.prevLsn()).encode()));
    }

    // ---------------------------------------------------------------- checkpoint values

    /**
     * The CheckPoint values as of this record so far, or null when the timeline has none (a
     * {@link TimelineBase#WAL_ONLY} timeline without import): then updates are skipped.
     */
    public CheckPoint checkpoint() {
        if (pendingCheckpoint != null) {
            return pendingCheckpoint;
        }
        if (!checkpointLoaded) {
            byte[] v = store.getValue(Key.checkpoint(), store.lastRecordLsn(), redo);
            checkpoint = v == null ? null : CheckPoint.decode(v);
            checkpointLoaded = true;
        }
        return checkpoint;
    }

    /** Replaces the CheckPoint values; put at commit only if they changed. Ignored without a CheckPoint. */
    void updateCheckpoint(Function<CheckPoint, CheckPoint> change) {
        CheckPoint cp = checkpoint();
        if (cp != null) {
            pendingCheckpoint = change.apply(cp);
        }
    }

    /**
     * Makes nextXid pass {@code xid} (xact.c's {@code AdvanceNextFullTransactionIdPastXid}):
     * a normal xid that is not before nextXid (modulo 2^32) moves nextXid to xid + 1, with
     * the epoch carried over a wraparound. Too high is harmless; too low destroys data.
     */
    void advanceNextXid(int xid) {
        if (Integer.compareUnsigned(xid, 3) < 0) {
            return; // Invalid, Bootstrap, Frozen: not assigned xids
        }
        CheckPoint cp = checkpoint();
        if (cp == null) {
            return;
        }
        long next = cp.nextFullXid();
        int diff = xid - (int) next;
        if (diff >= 0) {
            long full = next + Integer.toUnsignedLong(diff) + 1;
            if ((int) full == 0) {
                full += 3; // skip the special xids after a wraparound, as GetNewTransactionId does
            }
            pendingCheckpoint = cp.withNextFullXid(full);
        }
    }

    // ---------------------------------------------------------------- helpers

    private static boolean isZero(byte[] page) {
        for (byte b : page) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    public static Key blockKey(RelFileLocator rel, int fork, long blockNo) {
        return Key.relationBlock((int) rel.spcOid(), (int) rel.dbOid(), (int) rel.relNumber(), fork, (int) blockNo);
    }

    public static Key sizeKey(RelFileLocator rel, int fork) {
        return Key.relationSize((int) rel.spcOid(), (int) rel.dbOid(), (int) rel.relNumber(), fork);
    }

    /** Decodes a relation size value (4 bytes, little-endian block count). */
    public static long decodeSize(byte[] value) {
        return PageHeader.u32(value, 0);
    }

    static boolean equalBytes(byte[] a, byte[] b) {
        return Arrays.equals(a, b);
    }
}
