package dev.strata.pageserver.basebackup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.datadir.BlockCount;
import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.pageservice.PageRequest;
import dev.strata.pageserver.pageservice.PageService;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pageserver.timeline.TimelineManager;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * When an incremental basebackup is possible and when the page service falls back to a full one,
 * on timelines whose history is written directly (an initdb import, then single-key "records"
 * put into the stores, some flushed to delta layers): root R with a change at L1 and one at L2,
 * branch Q of R at L1 with a change of its own at L3. Every refusal names its reason; through the
 * page service a refused base gives a plain full basebackup (no marker entry).
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class IncrementalPlannerTest {

    @TempDir
    Path tmp;

    @Test
    void incrementalWhereTheHistoryAllowsItAndAFullBasebackupWithTheReasonElsewhere() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (TimelineManager m = new TimelineManager(tmp.resolve("ps"), StorageConfig.DEFAULTS, Timeline.Options.DEFAULTS,
                group)) {
            TimelineId rid = TimelineId.random();
            Timeline r = m.create(new TimelineManager.CreateRequest(rid, null, true, false, List.of(), "planner-pw"));
            Lsn start = r.lastRecordLsn();
            ChangedBlocks.Fork fork = aForkOfAtLeastTwoBlocks(r, start);
            Lsn l1 = start.plus(0x100);
            record(r.store(), block(fork, 1), l1, start);
            r.store().freezeAndFlush(); // L1's change in a delta layer file, L2's in memory
            TimelineId qid = TimelineId.random();
            Timeline q = m.branch(qid, rid, l1, List.of());
            assertThat(q.ancestor().orElseThrow().lsn()).isEqualTo(l1);
            Lsn l2 = l1.plus(0x100);
            record(r.store(), block(fork, 0), l2, l1);
            Lsn l3 = l1.plus(0x80);
            record(q.store(), block(fork, 1), l3, l1);
            Duration wait = Duration.ofSeconds(1);

            // R at L2 over R at L1: what changed in (L1, L2] is block 0.
            IncrementalPlanner.Plan sameTimeline = IncrementalPlanner.plan(r, l2, new BasebackupBase(rid, l1), m::get, wait);
            assertThat(sameTimeline.isIncremental()).as(sameTimeline.whyFull()).isTrue();
            ChangedBlocks changed = sameTimeline.incremental().changed();
            assertThat(changed.blocks()).isEqualTo(1);
            assertThat(changed.changed(fork, 0)).isTrue();
            assertThat(changed.changed(fork, 1)).isFalse();
            assertThat(sameTimeline.incremental().baseSize(fork)).isGreaterThanOrEqualTo(2);

            // Q at L3 over R at L1: Q's own (L1, L3]; R contributes nothing (the base is where Q leaves R).
            IncrementalPlanner.Plan branch = IncrementalPlanner.plan(q, l3, new BasebackupBase(rid, l1), m::get, wait);
            assertThat(branch.isIncremental()).as(branch.whyFull()).isTrue();
            assertThat(branch.incremental().changed().blocks()).isEqualTo(1);
            assertThat(branch.incremental().changed().changed(fork, 1)).isTrue();
            // Q at L3 over R at L2: also R's (L1, L2] would do, but R is ahead of where Q left it and
            // this cluster has no data checksums: hint bits set after L1 are in no record.
            assertThat(IncrementalPlanner.plan(q, l3, new BasebackupBase(rid, l2), m::get, wait).whyFull())
                    .contains("no data checksums").contains(rid.toString()).contains(l1.toString());

            // Through the page service: the marker first, the fork's reuse entry carrying block 0 only.
            PageService service = new PageService(m);
            Path incremental = basebackup(service, rid, new BasebackupBase(rid, l1), 1000);
            Path full = basebackup(service, rid, null, 1000);
            List<String> names = IncrementalArchives.names(incremental);
            assertThat(names.get(0)).isEqualTo(IncrementalFormat.MARKER);
            // Applied over R at L1 (the flush made L1 a record end whose start is known), it is R at L2.
            Path baseTar = tmp.resolve("r-l1.tar");
            try (OutputStream out = Files.newOutputStream(baseTar)) {
                Basebackup.write(r.store(), r.redo(), l1, start, out);
            }
            BasebackupFixtures.untar(baseTar, tmp.resolve("r-l1"));
            IncrementalArchives.Applied applied = IncrementalArchives.apply(incremental, tmp.resolve("r-l1"),
                    tmp.resolve("r-l2-applied"));
            BasebackupFixtures.untar(full, tmp.resolve("r-l2"));
            assertThat(IncrementalArchives.differences(tmp.resolve("r-l2"), tmp.resolve("r-l2-applied"))).isEmpty();
            assertThat(applied.base()).isEqualTo(new BasebackupBase(rid, l1));
            assertThat(applied.pages()).isEqualTo(1);
            assertThat(applied.reuseEntries()).isGreaterThan(100); // every logged fork of initdb's catalogs
            assertThat(applied.wholeFileBlocks()).isZero();
            // Apart from the marker and the prefix, the same entries in the same order as the full one.
            assertThat(names.subList(1, names.size()).stream()
                    .map(n -> n.startsWith(IncrementalFormat.REUSE_PREFIX) ? n.substring(IncrementalFormat.REUSE_PREFIX
                            .length()) : n).toList()).isEqualTo(IncrementalArchives.names(full));

            // R at L2 over Q at L3 (the base on a child of the target, e.g. undoing a restore): their
            // common ancestor is R; Q's own (L1, L3] and R's (L1, L2]. Q's compute ran past L1 only on
            // Q, whose own records cover its hints: no checksum rule needed.
            IncrementalPlanner.Plan descendant = IncrementalPlanner.plan(r, l2, new BasebackupBase(qid, l3), m::get, wait);
            assertThat(descendant.isIncremental()).as(descendant.whyFull()).isTrue();
            assertThat(descendant.incremental().changed().blocks()).isEqualTo(2);
            assertThat(descendant.incremental().changed().changed(fork, 0)).isTrue();
            assertThat(descendant.incremental().changed().changed(fork, 1)).isTrue();
            assertThat(descendant.ranges()).contains(qid + " (" + l1 + ", " + l3 + "]")
                    .contains(rid + " (" + l1 + ", " + l2 + "]");
            // A sibling of Q, branched at L2: Q's (L1, L3], R's (L1, L2], nothing of its own yet.
            TimelineId sid = TimelineId.random();
            Timeline sibling = m.branch(sid, rid, l2, List.of());
            IncrementalPlanner.Plan undo = IncrementalPlanner.plan(sibling, l2, new BasebackupBase(qid, l3), m::get, wait);
            assertThat(undo.isIncremental()).as(undo.whyFull()).isTrue();
            assertThat(undo.incremental().changed().blocks()).isEqualTo(2);

            // Refusals, each with its reason.
            TimelineId otherRoot = TimelineId.random();
            m.create(new TimelineManager.CreateRequest(otherRoot, null, true, false, List.of(), "planner-pw"));
            Lsn otherStart = m.get(otherRoot).lastRecordLsn();
            assertThat(IncrementalPlanner.plan(r, l2, new BasebackupBase(otherRoot, otherStart), m::get, wait).whyFull())
                    .contains(otherRoot + " shares no history with " + rid);
            assertThat(IncrementalPlanner.plan(r, l2, new BasebackupBase(TimelineId.random(), l1), m::get, wait)
                    .whyFull()).contains("is not here");
            long started = System.nanoTime();
            IncrementalPlanner.Plan beyond = IncrementalPlanner.plan(q, l3, new BasebackupBase(rid, l2.plus(0x1000)),
                    m::get, Duration.ofMillis(300));
            assertThat(System.nanoTime() - started).isLessThan(TimeUnit.SECONDS.toNanos(5));
            assertThat(beyond.whyFull()).contains("cannot be read at the base LSN " + l2.plus(0x1000))
                    .contains("not ingested");
            assertThat(IncrementalPlanner.plan(q, l3, new BasebackupBase(rid, Lsn.of(0x100)), m::get, wait).whyFull())
                    .contains("below the start");
            // The wait for the base is bounded even when the request allows more.
            started = System.nanoTime();
            IncrementalPlanner.plan(r, l2, new BasebackupBase(rid, l2.plus(0x1000)), m::get, Duration.ofMinutes(1));
            assertThat(System.nanoTime() - started).isLessThan(TimeUnit.SECONDS.toNanos(
                    IncrementalPlanner.MAX_BASE_WAIT.toSeconds() + 3));

            // A refused base through the page service: a plain full basebackup.
            Path refused = basebackup(service, rid, new BasebackupBase(otherRoot, otherStart), 1000);
            assertThat(IncrementalArchives.names(refused)).isEqualTo(IncrementalArchives.names(full));
            Path notThere = basebackup(service, rid, new BasebackupBase(rid, l2.plus(0x1000)), 200);
            assertThat(IncrementalArchives.names(notThere)).isEqualTo(IncrementalArchives.names(full));

            // GC on Q above its branch point: Q's changes in (L1, L3] may be gone; the cutoff is
            // checked after the entries were read, so none read could have been removed unseen.
            q.advanceGcCutoff(l3);
            assertThat(IncrementalPlanner.plan(q, l3, new BasebackupBase(rid, l1), m::get, wait).whyFull())
                    .contains("GC cutoff at " + l3).contains(qid.toString());
            Path collected = basebackup(service, qid, new BasebackupBase(rid, l1), 1000);
            assertThat(IncrementalArchives.names(collected).get(0)).isEqualTo("PG_VERSION");
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private Path basebackup(PageService service, TimelineId tl, BasebackupBase base, int waitMillis) throws Exception {
        Path tar = Files.createTempFile(tmp, "bb", ".tar");
        try (OutputStream out = Files.newOutputStream(tar)) {
            service.basebackup(new PageRequest.Basebackup(1, tl, Lsn.INVALID, waitMillis, base), out);
        }
        return tar;
    }

    /** One "record": a page image of {@code key} at {@code end}, then the record reported ingested. */
    private static void record(LayerStore store, Key key, Lsn end, Lsn start) {
        byte[] page = new byte[IncrementalFormat.BLOCK_SIZE];
        page[100] = (byte) end.value();
        store.put(key, end, new Value.Image(page));
        store.position().recordIngested(end, start);
    }

    private static Key block(ChangedBlocks.Fork f, int block) {
        return Key.relationBlock(f.spcOid(), f.dbOid(), f.relNumber(), f.fork(), block);
    }

    private static ChangedBlocks.Fork aForkOfAtLeastTwoBlocks(Timeline t, Lsn lsn) {
        LayerStore s = t.store();
        for (DbDirectory.Db db : DbDirectory.decode(s.getValue(Key.databaseDirectory(), lsn, t.redo())).entries()) {
            RelDirectory rels = RelDirectory.decode(s.getValue(Key.relationDirectory(db.spcOid(), db.dbOid()), lsn,
                    t.redo()));
            for (RelDirectory.RelFork rf : rels.entries()) {
                long size = BlockCount.decode(s.getValue(Key.relationSize(db.spcOid(), db.dbOid(), rf.relNumber(),
                        rf.fork()), lsn, t.redo()));
                if (rf.fork() == 0 && size >= 2 && db.spcOid() == 1663) {
                    return new ChangedBlocks.Fork(db.spcOid(), db.dbOid(), rf.relNumber(), 0);
                }
            }
        }
        throw new AssertionError("initdb has no relation of two blocks");
    }
}
