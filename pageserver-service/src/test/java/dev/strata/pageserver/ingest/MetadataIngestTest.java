package dev.strata.pageserver.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.datadir.BlockCount;
import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pageserver.datadir.NumberSet;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.SlruKind;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.redo.PageserverRedo;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pgcore.control.CheckPoint;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.wal.RmgrId;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The non-page state ingest keeps (CLOG, multixacts, two-phase files, relmapper files,
 * directories, CheckPoint values), record by record, on real decoded records built from PG17
 * layouts ({@link SyntheticRecords}); and records that must stop ingest.
 */
class MetadataIngestTest {

    private static final Lsn START = Lsn.of(0x0100_0000L);
    private static final int XACT = RmgrId.TRANSACTION.id();
    private static final int DB = 5;
    private static final int SPC = 1663;
    private final PageserverRedo redo = new PageserverRedo();

    @TempDir
    Path dir;
    private LayerStore store;
    private SyntheticRecords wal;

    @BeforeEach
    void open() {
        store = LayerStore.create(dir.resolve("tl"), TimelineId.random(), START, StorageConfig.DEFAULTS);
        wal = new SyntheticRecords(START);
    }

    @AfterEach
    void close() {
        store.close();
    }

    /** What an initdb import would leave: a CheckPoint at the start (nextXid 100, nextMulti 1, offset 1). */
    private WalIngest imported() {
        CheckPoint cp = new CheckPoint(START, 1, 1, true, 1, 100, 16384, 1, 1, 3, 1, 1, 1, 0, 0, 0, 0);
        store.put(Key.checkpoint(), START.plus(8), new Value.Image(cp.encode()));
        return new WalIngest(store, RmgrRegistry.defaults(), false, TimelineBase.IMPORTED, START);
    }

    private byte[] at(Key k) {
        return store.getValue(k, store.lastRecordLsn(), redo);
    }

    private CheckPoint checkpoint() {
        return CheckPoint.decode(at(Key.checkpoint()));
    }

    private static byte[] int64(long v) {
        return SyntheticRecords.le(8).putLong(v).array();
    }

    private static int clogStatus(byte[] page, int xid) {
        int inPage = xid % 32768;
        return (page[inPage / 4] >> ((inPage % 4) * 2)) & 3;
    }

    /** xl_xact_commit/abort: xact_time, xinfo, then the pieces. */
    private static byte[] xactBody(int xinfo, int[] subxacts, int[][] rels, int ninvals, Integer twophaseXid, String gid) {
        ByteBuffer b = SyntheticRecords.le(4096);
        b.putLong(123456789L).putInt(xinfo);
        if ((xinfo & XactIngest.XINFO_HAS_DBINFO) != 0) {
            b.putInt(DB).putInt(SPC);
        }
        if ((xinfo & XactIngest.XINFO_HAS_SUBXACTS) != 0) {
            b.putInt(subxacts.length);
            for (int s : subxacts) {
                b.putInt(s);
            }
        }
        if ((xinfo & XactIngest.XINFO_HAS_RELFILELOCATORS) != 0) {
            b.putInt(rels.length);
            for (int[] r : rels) {
                b.putInt(r[0]).putInt(r[1]).putInt(r[2]);
            }
        }
        if ((xinfo & XactIngest.XINFO_HAS_DROPPED_STATS) != 0) {
            b.putInt(1).putInt(1).putInt(DB).putInt(99);
        }
        if ((xinfo & XactIngest.XINFO_HAS_INVALS) != 0) {
            b.putInt(ninvals).put(new byte[16 * ninvals]);
        }
        if ((xinfo & XactIngest.XINFO_HAS_TWOPHASE) != 0) {
            b.putInt(twophaseXid);
            if (gid != null) {
                b.put(gid.getBytes()).put((byte) 0);
            }
        }
        if ((xinfo & XactIngest.XINFO_HAS_ORIGIN) != 0) {
            b.putLong(0x1234).putLong(5678);
        }
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    @Test
    void commitAndAbortSetClogBitsOfTheXidAndEverySubtransactionAcrossPages() {
        WalIngest ingest = imported();
        ingest.ingest(wal.record(RmgrId.CLOG.id(), 0x00, 0, int64(0)));
        ingest.ingest(wal.record(RmgrId.CLOG.id(), 0x00, 0, int64(1)));
        assertThat(BlockCount.decode(at(Key.slruSegmentSize(SlruKind.CLOG, 0)))).isEqualTo(2);
        assertThat(NumberSet.decode(at(Key.slruDirectory(SlruKind.CLOG)))).isEqualTo(NumberSet.of(0));
        int info = XactIngest.COMMIT | XactIngest.HAS_INFO;
        int xinfo = XactIngest.XINFO_HAS_DBINFO | XactIngest.XINFO_HAS_SUBXACTS | XactIngest.XINFO_HAS_INVALS
                | XactIngest.XINFO_HAS_DROPPED_STATS | XactIngest.XINFO_HAS_AE_LOCKS | (1 << 31);
        ingest.ingest(wal.record(XACT, info, 200, xactBody(xinfo, new int[] {201, 32770}, null, 2, null, null)));
        ingest.ingest(wal.record(XACT, XactIngest.ABORT | XactIngest.HAS_INFO, 202,
                xactBody(XactIngest.XINFO_HAS_SUBXACTS, new int[] {203}, null, 0, null, null)));
        ingest.ingest(wal.record(XACT, XactIngest.COMMIT, 204, SyntheticRecords.le(8).putLong(1).array())); // no xinfo

        byte[] page0 = at(Key.slruPage(SlruKind.CLOG, 0, 0));
        byte[] page1 = at(Key.slruPage(SlruKind.CLOG, 0, 1));
        assertThat(clogStatus(page0, 200)).isEqualTo(1);
        assertThat(clogStatus(page0, 201)).isEqualTo(1);
        assertThat(clogStatus(page1, 32770)).isEqualTo(1);
        assertThat(clogStatus(page0, 202)).isEqualTo(2);
        assertThat(clogStatus(page0, 203)).isEqualTo(2);
        assertThat(clogStatus(page0, 204)).isEqualTo(1);
        assertThat(clogStatus(page0, 205)).isZero();
        // nextXid passed the highest subtransaction, though no record carried it as xl_xid.
        assertThat(checkpoint().nextFullXid()).isEqualTo(32771);
        // The CLOG change is a small record, not a page image.
        assertThat(store.layerMap().toString()).isNotEmpty();

        // CLOG TRUNCATE below segment 1 removes segment 0.
        ingest.ingest(wal.record(RmgrId.CLOG.id(), 0x00, 0, int64(32)));
        ingest.ingest(wal.record(RmgrId.CLOG.id(), 0x10, 0,
                SyntheticRecords.le(16).putLong(32).putInt(32 * 32768).putInt(DB).array()));
        assertThat(NumberSet.decode(at(Key.slruDirectory(SlruKind.CLOG)))).isEqualTo(NumberSet.of(1));
    }

    @Test
    void nextXidFollowsEveryRecordsXidAndTheCheckpointIsPutOnlyWhenItChanges() {
        WalIngest ingest = imported();
        ingest.ingest(wal.record(RmgrId.STANDBY.id(), 0x00, 0, new byte[] {1}));
        assertThat(ingest.checkpointUpdates()).isZero();
        ingest.ingest(wal.record(RmgrId.STANDBY.id(), 0x00, 150, new byte[] {1}));
        assertThat(checkpoint().nextFullXid()).isEqualTo(151);
        ingest.ingest(wal.record(RmgrId.STANDBY.id(), 0x00, 120, new byte[] {1})); // older: no change
        assertThat(ingest.checkpointUpdates()).isEqualTo(1);
        // NEXTOID and an online checkpoint whose nextXid is behind ours.
        ingest.ingest(wal.record(RmgrId.XLOG.id(), XlogIngest.NEXTOID, 0, SyntheticRecords.le(4).putInt(24576).array()));
        CheckPoint rec = new CheckPoint(Lsn.of(0x0100_2000L), 1, 1, true, 1, 140, 20000, 7, 30, 50, 5, 2, 5,
                1_700_000_000L, 0, 0, 145);
        ingest.ingest(wal.record(RmgrId.XLOG.id(), XlogIngest.CHECKPOINT_ONLINE, 0, rec.encode()));
        CheckPoint cp = checkpoint();
        assertThat(cp.nextFullXid()).isEqualTo(151);
        assertThat(cp.nextOid()).isEqualTo(24576);
        assertThat(cp.nextMulti()).isEqualTo(7);
        assertThat(cp.nextMultiOffset()).isEqualTo(30);
        assertThat(cp.oldestXid()).isEqualTo(50);
        assertThat(cp.oldestMulti()).isEqualTo(2);
        assertThat(cp.redo()).isEqualTo(Lsn.of(0x0100_2000L));
        assertThat(ingest.checkpointUpdates()).isEqualTo(3);
    }

    @Test
    void multixactCreateWritesOffsetAndMembersAndAdvancesCounters() {
        WalIngest ingest = imported();
        int mx = RmgrId.MULTIXACT.id();
        ingest.ingest(wal.record(mx, MultiXactIngest.ZERO_OFF_PAGE, 0, int64(0)));
        ingest.ingest(wal.record(mx, MultiXactIngest.ZERO_MEM_PAGE, 0, int64(0)));
        ingest.ingest(wal.record(mx, MultiXactIngest.ZERO_MEM_PAGE, 0, int64(1)));
        // multi 5 at member offset 1634: members 1634, 1635 on page 0 and 1636 on page 1.
        ByteBuffer b = SyntheticRecords.le(12 + 24).putInt(5).putInt(1634).putInt(3);
        b.putInt(300).putInt(1).putInt(301).putInt(5).putInt(400).putInt(0);
        ingest.ingest(wal.record(mx, MultiXactIngest.CREATE_ID, 300, b.array()));
        ByteBuffer off = ByteBuffer.wrap(at(Key.slruPage(SlruKind.MULTIXACT_OFFSETS, 0, 0))).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(off.getInt(20)).isEqualTo(1634);
        ByteBuffer m0 = ByteBuffer.wrap(at(Key.slruPage(SlruKind.MULTIXACT_MEMBERS, 0, 0))).order(ByteOrder.LITTLE_ENDIAN);
        // 1634 = group 408 (offsets 1632..1635) member 2; group 408 starts at byte 8160.
        assertThat(m0.get(8160 + 2)).isEqualTo((byte) 1);
        assertThat(m0.getInt(8160 + 4 + 8)).isEqualTo(300);
        assertThat(m0.get(8160 + 3)).isEqualTo((byte) 5);
        assertThat(m0.getInt(8160 + 4 + 12)).isEqualTo(301);
        ByteBuffer m1 = ByteBuffer.wrap(at(Key.slruPage(SlruKind.MULTIXACT_MEMBERS, 0, 1))).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(m1.getInt(4)).isEqualTo(400);
        CheckPoint cp = checkpoint();
        assertThat(cp.nextMulti()).isEqualTo(6);
        assertThat(cp.nextMultiOffset()).isEqualTo(1637);
        assertThat(cp.nextFullXid()).isEqualTo(401); // past the member xid 400
        // TRUNCATE_ID moves oldestMulti.
        ingest.ingest(wal.record(mx, MultiXactIngest.TRUNCATE_ID, 0,
                SyntheticRecords.le(20).putInt(DB).putInt(1).putInt(4).putInt(1).putInt(1000).array()));
        assertThat(checkpoint().oldestMulti()).isEqualTo(4);
        assertThat(NumberSet.decode(at(Key.slruDirectory(SlruKind.MULTIXACT_MEMBERS)))).isEqualTo(NumberSet.of(0));
    }

    @Test
    void prepareWritesTheStateFileAndCommitPreparedRemovesIt() {
        WalIngest ingest = imported();
        ingest.ingest(wal.record(RmgrId.CLOG.id(), 0x00, 0, int64(0)));
        ByteBuffer state = SyntheticRecords.le(72 + 8);
        state.putInt(XactIngest.TWOPHASE_MAGIC).putInt(72 + 8 + 4).putInt(500).putInt(DB);
        state.position(54);
        state.putShort((short) 2);
        state.position(72);
        state.put("g1".getBytes());
        byte[] data = state.array();
        ingest.ingest(wal.record(XACT, XactIngest.PREPARE, 500, data));
        byte[] file = at(Key.twoPhaseFile(500));
        CRC32C crc = new CRC32C();
        crc.update(data);
        assertThat(file).hasSize(data.length + 4);
        assertThat(java.util.Arrays.copyOf(file, data.length)).isEqualTo(data);
        assertThat(ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getInt(data.length)).isEqualTo((int) crc.getValue());
        assertThat(NumberSet.decode(at(Key.twoPhaseDirectory()))).isEqualTo(NumberSet.of(500));

        int xinfo = XactIngest.XINFO_HAS_TWOPHASE | XactIngest.XINFO_HAS_GID | XactIngest.XINFO_HAS_ORIGIN
                | XactIngest.XINFO_HAS_SUBXACTS;
        ingest.ingest(wal.record(XACT, XactIngest.COMMIT_PREPARED | XactIngest.HAS_INFO, 0,
                xactBody(xinfo, new int[] {501}, null, 0, 500, "g1")));
        assertThat(NumberSet.decode(at(Key.twoPhaseDirectory()))).isEqualTo(NumberSet.EMPTY);
        byte[] clog = at(Key.slruPage(SlruKind.CLOG, 0, 0));
        assertThat(clogStatus(clog, 500)).isEqualTo(1);
        assertThat(clogStatus(clog, 501)).isEqualTo(1);
    }

    @Test
    void relationsDroppedAtCommitLeaveTheDirectoryAndDatabasesComeAndGo() {
        WalIngest ingest = imported();
        ingest.ingest(wal.record(RmgrId.CLOG.id(), 0x00, 0, int64(0)));
        int smgr = RmgrId.STORAGE.id();
        ingest.ingest(wal.record(smgr, SmgrIngest.XLOG_SMGR_CREATE, 0,
                SyntheticRecords.le(16).putInt(SPC).putInt(DB).putInt(16384).putInt(0).array()));
        ingest.ingest(wal.record(smgr, SmgrIngest.XLOG_SMGR_CREATE, 0,
                SyntheticRecords.le(16).putInt(SPC).putInt(DB).putInt(16390).putInt(0).array()));
        assertThat(RelDirectory.decode(at(Key.relationDirectory(SPC, DB))).entries()).hasSize(2);
        assertThat(DbDirectory.decode(at(Key.databaseDirectory())).contains(SPC, DB)).isTrue();
        ingest.ingest(wal.record(XACT, XactIngest.COMMIT | XactIngest.HAS_INFO, 600,
                xactBody(XactIngest.XINFO_HAS_RELFILELOCATORS, null, new int[][] {{SPC, DB, 16384}}, 0, null, null)));
        RelDirectory rels = RelDirectory.decode(at(Key.relationDirectory(SPC, DB)));
        assertThat(rels.containsRelation(16384)).isFalse();
        assertThat(BlockCount.decode(at(Key.relationSize(SPC, DB, 16384, 0)))).isZero();
        assertThat(rels.contains(16390, 0)).isTrue();

        // RelMap UPDATE for the database, then CREATE DATABASE ... STRATEGY FILE_COPY from it.
        byte[] map = new byte[524];
        SyntheticRecords.le(4).putInt(0x592717).flip().get(map, 0, 4);
        map[523] = 0x42;
        ByteBuffer relmap = SyntheticRecords.le(12 + 524).putInt(DB).putInt(SPC).putInt(524).put(map);
        ingest.ingest(wal.record(RmgrId.RELMAP.id(), 0, 0, relmap.array()));
        assertThat(at(Key.relmapperFile(SPC, DB))).isEqualTo(map);
        // one page in 16390
        byte[] page = new byte[8192];
        page[100] = 7;
        WalIngest sameStore = ingest;
        Lsn copied = store.lastRecordLsn().plus(8);
        store.put(Key.relationBlock(SPC, DB, 16390, 0, 0), copied, new Value.Image(page));
        store.put(Key.relationSize(SPC, DB, 16390, 0), copied, new Value.Image(BlockCount.encode(1)));
        store.position().walIngested(copied);
        ingest = new WalIngest(store, RmgrRegistry.defaults(), false, TimelineBase.IMPORTED, sameStore.prevRecordLsn());
        ingest.ingest(wal.record(RmgrId.DATABASE.id(), DatabaseIngest.CREATE_FILE_COPY, 0,
                SyntheticRecords.le(16).putInt(6).putInt(SPC).putInt(DB).putInt(SPC).array()));
        assertThat(RelDirectory.decode(at(Key.relationDirectory(SPC, 6)))).isEqualTo(rels);
        assertThat(at(Key.relationBlock(SPC, 6, 16390, 0, 0))).isEqualTo(page);
        assertThat(BlockCount.decode(at(Key.relationSize(SPC, 6, 16390, 0)))).isEqualTo(1);
        assertThat(at(Key.relmapperFile(SPC, 6))).isEqualTo(map);
        assertThat(DbDirectory.decode(at(Key.databaseDirectory())).contains(SPC, 6)).isTrue();

        ingest.ingest(wal.record(RmgrId.DATABASE.id(), DatabaseIngest.CREATE_WAL_LOG, 0,
                SyntheticRecords.le(8).putInt(7).putInt(SPC).array()));
        assertThat(DbDirectory.decode(at(Key.databaseDirectory())).entries()).hasSize(3);
        ingest.ingest(wal.record(RmgrId.DATABASE.id(), DatabaseIngest.DROP, 0,
                SyntheticRecords.le(12).putInt(6).putInt(1).putInt(SPC).array()));
        assertThat(DbDirectory.decode(at(Key.databaseDirectory())).contains(SPC, 6)).isFalse();
        assertThat(RelDirectory.decode(at(Key.relationDirectory(SPC, 6)))).isEqualTo(RelDirectory.EMPTY);
        assertThat(BlockCount.decode(at(Key.relationSize(SPC, 6, 16390, 0)))).isZero();
    }

    /**
     * CLOG records survive a flush to a delta file, a restart and image compaction: the layer
     * files keep them as records, PageserverRedo applies them over the zero page from an older
     * layer, and ingest resumes with its caches rebuilt from the store.
     */
    @Test
    void clogRecordsSurviveFlushRestartAndCompaction() {
        Path tl = dir.resolve("restart");
        LayerStore s1 = LayerStore.create(tl, TimelineId.random(), START, new StorageConfig(256L << 20, 1, 16384));
        CheckPoint cp = new CheckPoint(START, 1, 1, true, 1, 100, 16384, 1, 1, 3, 1, 1, 1, 0, 0, 0, 0);
        s1.put(Key.checkpoint(), START.plus(8), new Value.Image(cp.encode()));
        s1.position().walIngested(START.plus(8));
        WalIngest first = new WalIngest(s1, RmgrRegistry.defaults(), false, TimelineBase.IMPORTED, START);
        first.ingest(wal.record(RmgrId.CLOG.id(), 0x00, 0, int64(0)));
        first.ingest(wal.record(XACT, XactIngest.COMMIT, 110, SyntheticRecords.le(8).putLong(1).array()));
        s1.freezeAndFlush();
        Lsn prev = first.prevRecordLsn();
        s1.close();

        LayerStore s2 = LayerStore.open(tl, new StorageConfig(256L << 20, 1, 16384));
        try (s2) {
            // The prev record LSN was persisted with the flush; the short constructor takes it.
            assertThat(new WalIngest(s2, RmgrRegistry.defaults(), false, TimelineBase.IMPORTED).prevRecordLsn())
                    .isEqualTo(prev);
            WalIngest second = new WalIngest(s2, RmgrRegistry.defaults(), false, TimelineBase.IMPORTED, prev);
            second.ingest(wal.record(XACT, XactIngest.ABORT, 111, SyntheticRecords.le(8).putLong(1).array()));
            s2.freezeAndFlush();
            assertThat(s2.compact(redo)).isNotEmpty();
            byte[] page = s2.getValue(Key.slruPage(SlruKind.CLOG, 0, 0), s2.lastRecordLsn(), redo);
            assertThat(clogStatus(page, 110)).isEqualTo(1);
            assertThat(clogStatus(page, 111)).isEqualTo(2);
            assertThat(CheckPoint.decode(s2.getValue(Key.checkpoint(), s2.lastRecordLsn(), redo)).nextFullXid())
                    .isEqualTo(112);
            assertThat(NumberSet.decode(s2.getValue(Key.slruDirectory(SlruKind.CLOG), s2.lastRecordLsn(), redo)))
                    .isEqualTo(NumberSet.of(0));
        }
    }

    @Test
    void walOnlyTimelinesSkipChangesToSlruPagesFromBeforeTheStartAndHaveNoCheckpoint() {
        WalIngest ingest = new WalIngest(store, RmgrRegistry.defaults(), false, TimelineBase.WAL_ONLY);
        ingest.ingest(wal.record(XACT, XactIngest.COMMIT, 700, SyntheticRecords.le(8).putLong(1).array()));
        assertThat(ingest.skippedSlruChanges()).isEqualTo(1);
        assertThat(ingest.checkpointUpdates()).isZero();
        assertThat(at(Key.checkpoint())).isNull();
        assertThat(ingest.stopped()).isNull();
    }

    @Test
    void anImportedTimelineStopsOnACommitToACLOGPageItNeverSaw() {
        WalIngest ingest = imported();
        assertThatThrownBy(() -> ingest.ingest(wal.record(XACT, XactIngest.COMMIT, 700,
                SyntheticRecords.le(8).putLong(1).array())))
                .isInstanceOf(IngestException.class).hasMessageContaining("CLOG page 0 for xid 700 does not exist");
    }

    @Test
    void badTransactionRecordsStopIngestNamingLsnRmgrAndType() {
        WalIngest ingest = imported();
        ingest.ingest(wal.record(RmgrId.CLOG.id(), 0x00, 0, int64(0)));
        Lsn before = ingest.lastRecordLsn();
        // Unknown xinfo bit 9.
        var unknown = wal.record(XACT, XactIngest.COMMIT | XactIngest.HAS_INFO, 800, xactBody(1 << 9, null, null, 0, null, null));
        assertThatThrownBy(() -> ingest.ingest(unknown)).isInstanceOf(IngestException.class)
                .hasMessageContaining("at " + unknown.startLsn()).hasMessageContaining("rmgr Transaction")
                .hasMessageContaining("unknown xinfo flags 0x200");
        assertThat(ingest.lastRecordLsn()).isEqualTo(before);
        assertThat(at(Key.slruPage(SlruKind.CLOG, 0, 0))).isEqualTo(new byte[8192]);
        // Every later record meets the same error: nothing is ingested past it.
        assertThatThrownBy(() -> ingest.ingest(wal.record(RmgrId.STANDBY.id(), 0, 0, new byte[] {1})))
                .isSameAs(ingest.stopped());
    }

    @Test
    void truncatedAndTrailingMainDataStopIngest() {
        for (byte[] body : new byte[][] {
                java.util.Arrays.copyOf(xactBody(XactIngest.XINFO_HAS_SUBXACTS, new int[] {801, 802}, null, 0, null, null), 18),
                java.util.Arrays.copyOf(xactBody(XactIngest.XINFO_HAS_SUBXACTS, new int[] {801}, null, 0, null, null), 24),
                new byte[4]}) {
            LayerStore s = LayerStore.create(dir.resolve("t" + body.length), TimelineId.random(), START, StorageConfig.DEFAULTS);
            try (s) {
                CheckPoint cp = new CheckPoint(START, 1, 1, true, 1, 100, 16384, 1, 1, 3, 1, 1, 1, 0, 0, 0, 0);
                s.put(Key.checkpoint(), START.plus(8), new Value.Image(cp.encode()));
                WalIngest ingest = new WalIngest(s, RmgrRegistry.defaults(), false, TimelineBase.WAL_ONLY);
                var r = new SyntheticRecords(START).record(XACT, XactIngest.COMMIT | XactIngest.HAS_INFO, 800, body);
                assertThatThrownBy(() -> ingest.ingest(r)).isInstanceOf(IngestException.class)
                        .hasMessageContaining("COMMIT").hasMessageMatching("(?s).*(truncated|trailing|need).*");
            }
        }
        // Abort records carry no invalidation messages in PG17.
        WalIngest ingest = imported();
        assertThatThrownBy(() -> ingest.ingest(wal.record(XACT, XactIngest.ABORT | XactIngest.HAS_INFO, 800,
                xactBody(XactIngest.XINFO_HAS_INVALS, null, null, 1, null, null))))
                .isInstanceOf(IngestException.class).hasMessageContaining("unknown xinfo flags 0x8");
        // A PREPARE whose state header is cut.
        WalIngest other = new WalIngest(store, RmgrRegistry.defaults(), false, TimelineBase.IMPORTED);
        assertThatThrownBy(() -> other.ingest(wal.record(XACT, XactIngest.PREPARE, 900, new byte[40])))
                .isInstanceOf(IngestException.class).hasMessageContaining("shorter than its 72-byte header");
    }
}
