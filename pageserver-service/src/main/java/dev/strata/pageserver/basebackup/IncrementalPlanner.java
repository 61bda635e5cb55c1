package dev.strata.pageserver.basebackup;

import dev.strata.pageserver.datadir.BlockCount;
import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pageserver.layer.DeltaLayer;
import dev.strata.pageserver.layer.InMemoryLayer;
import dev.strata.pageserver.layer.KeyLsnVisitor;
import dev.strata.pageserver.layer.LayerDownloadException;
import dev.strata.pageserver.layer.LayerMap;
import dev.strata.pageserver.layer.LayerRetiredException;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pageserver.timeline.TimelineAncestor;
import dev.strata.pageserver.timeline.TimelineException;
import dev.strata.pgcore.control.CheckPoint;
import dev.strata.pgcore.control.ControlFile;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Decides whether the basebackup of timeline Y at E can be incremental over a base directory at
 * X@H, and if so what may differ (docs/basebackup.md, "Incremental basebackups"). Enters: the
 * target timeline, E, the base, the timelines by id. Leaves: a {@link Plan}, either the
 * {@link Incremental} that {@link Basebackup#write} takes or the reason for a full basebackup.
 *
 * <p>The history of Y at E runs through Y's own layers down to its branch LSN, through each
 * ancestor's down to its own branch LSN, and so on; the base's history likewise from X@H. The two
 * meet on their common ancestor A (X itself when X is Y or one of Y's ancestors), which the
 * target's history leaves at L and the base's at L'. A key can differ between X@H and Y@E only if
 * it has an entry in an LSN range between the two points: on every timeline of either history
 * below A, from its branch LSN (exclusive) to where that history leaves it, and on A between L
 * and L' (from further down when L' is above L: the hint-bit rule in {@link #plan}). Entries are
 * read from each timeline's own layers (in-memory and delta, never images, never an ancestor's),
 * keys and LSNs only, except the values of relation size entries.
 */
public final class IncrementalPlanner {

    /** The longest wait for X to ingest up to H; a base not there by then gets a full basebackup. */
    public static final Duration MAX_BASE_WAIT = Duration.ofSeconds(5);
    /** Bound on the ancestry walked (a cycle would be a bug; this ends it). */
    static final int MAX_DEPTH = 10_000;

    private IncrementalPlanner() {
    }

    /**
     * An incremental basebackup (with what it needs and, for the log, the LSN ranges whose
     * entries were collected), or the reason for a full one.
     */
    public record Plan(Incremental incremental, String whyFull, String ranges) {

        static Plan full(String why) {
            return new Plan(null, why, "");
        }

        public boolean isIncremental() {
            return incremental != null;
        }
    }

    /** Entries of one timeline's own layers in (after, upTo] belong to the path. */
    record Range(Timeline timeline, Lsn after, Lsn upTo) {
        @Override
        public String toString() {
            return timeline.id() + " (" + after + ", " + upTo + "]";
        }
    }

    /**
     * A history walked up its ancestry: the ranges of the timelines it left (each from its branch
     * LSN, exclusive, to where the history leaves it), the timeline it stopped on and the LSN where
     * the history leaves that one; or why it could not be walked.
     */
    private record Walk(List<Range> ranges, Timeline top, Lsn leaves, String whyFull) {
    }

    /** Walks from {@code from} at {@code at} up the ancestry until {@code stop} holds or a root is reached. */
    private static Walk walkUp(Timeline from, Lsn at, Predicate<Timeline> stop,
                               Function<TimelineId, Timeline> timelines) {
        List<Range> ranges = new ArrayList<>();
        Timeline t = from;
        while (!stop.test(t)) {
            Optional<TimelineAncestor> a = t.ancestor();
            if (a.isEmpty()) {
                break;
            }
            if (ranges.size() >= MAX_DEPTH) {
                return new Walk(ranges, t, at, "the ancestry of " + from.id() + " is deeper than " + MAX_DEPTH
                        + " timelines");
            }
            ranges.add(new Range(t, a.get().lsn(), at));
            at = Lsn.min(at, a.get().lsn());
            try {
                t = timelines.apply(a.get().timelineId());
            } catch (TimelineException e) {
                return new Walk(ranges, t, at, "ancestor " + a.get().timelineId() + " of " + t.id() + " is not here: "
                        + e.getMessage());
            }
        }
        return new Walk(ranges, t, at, null);
    }

    /**
     * @param target    Y, already waited for up to {@code lsn}
     * @param lsn       E, the basebackup's LSN
     * @param timelines the timelines of this pageserver by id (NOT_FOUND for an unknown one)
     * @param wait      the request's wait for WAL; X is waited for at most {@link #MAX_BASE_WAIT} of it
     */
    public static Plan plan(Timeline target, Lsn lsn, BasebackupBase base, Function<TimelineId, Timeline> timelines,
                            Duration wait) {
        // The base's history: X and each ancestor, with the LSN where the base's history leaves it.
        Timeline x;
        try {
            x = timelines.apply(base.timeline());
        } catch (TimelineException e) {
            return Plan.full("the base's timeline " + base.timeline() + " is not here: " + e.getMessage());
        }
        Walk baseWalk = walkUp(x, base.lsn(), tl -> false, timelines);
        if (baseWalk.whyFull() != null) {
            return Plan.full(baseWalk.whyFull());
        }
        Map<TimelineId, Lsn> baseLeaves = new HashMap<>();
        for (Range r : baseWalk.ranges()) {
            baseLeaves.put(r.timeline().id(), r.upTo());
        }
        baseLeaves.put(baseWalk.top().id(), baseWalk.leaves());
        // The target's history from Y@E up to the first timeline the base's history also runs
        // through: their common ancestor A (X itself when X is Y or an ancestor of Y; Y when the
        // base is on a descendant; A above both for a sibling, e.g. undoing a restore).
        Walk targetWalk = walkUp(target, lsn, tl -> baseLeaves.containsKey(tl.id()), timelines);
        if (targetWalk.whyFull() != null) {
            return Plan.full(targetWalk.whyFull());
        }
        if (!baseLeaves.containsKey(targetWalk.top().id())) {
            return Plan.full("timeline " + base.timeline() + " shares no history with " + target.id());
        }
        List<Range> path = new ArrayList<>(targetWalk.ranges());
        Timeline common = targetWalk.top();
        Lsn split = targetWalk.leaves(); // where Y's history leaves A
        Lsn baseSplit = baseLeaves.get(common.id()); // where the base's history leaves A (H when A is X)
        // The base's own timelines below A: what their computes wrote since their branch points.
        // Hint bits set there are covered by their own records: every compute of a timeline
        // starts at or above its branch point after a checkpoint there, so its first hint on a
        // page writes a page image (data checksums, checked below when it matters).
        for (Range r : baseWalk.ranges()) {
            if (r.timeline().id().equals(common.id())) {
                break;
            }
            path.add(r);
        }
        Lsn h = base.lsn();
        Lsn start = x.config().startLsn();
        if (h.isBefore(start)) {
            return Plan.full("base LSN " + h + " is below the start " + start + " of timeline " + x.id());
        }
        try {
            x.awaitLsn(h, wait.compareTo(MAX_BASE_WAIT) < 0 ? wait : MAX_BASE_WAIT);
        } catch (TimelineException e) {
            return Plan.full("timeline " + x.id() + " cannot be read at the base LSN " + h + ": " + e.getMessage());
        }
        Lsn after = Lsn.min(split, baseSplit);
        Lsn upTo = Lsn.max(split, baseSplit);
        Lsn commonStart = common.config().startLsn();
        if (baseSplit.isAfter(split)) {
            // The base's computes ran on A past the split and set hint bits there (tuple commit
            // status, LP_DEAD index items) that reflect the base's history, not the target's,
            // without a record of their own. With data checksums the first hint change of a page
            // after a checkpoint's redo writes a page image; a later one needs a record on the page
            // above that redo. So every page with a hint the target must not see has an entry above
            // the redo of the checkpoint in force at the split (and above A's start: every compute
            // of A started there or later). Without checksums no record says which pages changed.
            byte[] control = x.store().getValue(Key.controlFile(), h, x.redo());
            byte[] checkpoint = common.store().getValue(Key.checkpoint(), split, common.redo());
            if (control == null || checkpoint == null) {
                return Plan.full("timeline " + common.id() + " has no control file or checkpoint at " + split);
            }
            if (!ControlFile.decode(control).dataChecksums()) {
                return Plan.full("the base " + base + " is ahead of " + split + ", where the history of " + target.id()
                        + " leaves " + common.id() + ", and the cluster has no data checksums: hint bits its compute"
                        + " set after " + split + " are not in the WAL, so which pages they changed is unknown");
            }
            Lsn redo = CheckPoint.decode(checkpoint).redo();
            after = Lsn.max(commonStart, Lsn.min(after, redo));
        }
        path.add(new Range(common, after, upTo));

        ChangedBlocks changed = null;
        for (int attempt = 1; changed == null; attempt++) {
            try {
                changed = new ChangedBlocks();
                for (Range r : path) {
                    collect(r, changed);
                }
            } catch (LayerRetiredException e) {
                if (attempt >= 2) {
                    return Plan.full("layers were removed by compaction or GC while the changed blocks were collected,"
                            + " twice: " + e.getMessage());
                }
                changed = null;
            } catch (LayerDownloadException e) {
                return Plan.full("a layer needed to collect the changed blocks could not be downloaded: " + e.getMessage());
            }
        }
        Map<ChangedBlocks.Fork, Long> baseSizes = baseForks(x.store(), h, x);
        // GC raises and persists a cutoff before it removes layers: a cutoff still at or below each
        // range now means nothing read above (entries, X@H) was removed while it was read.
        for (Range r : path) {
            Lsn cutoff = r.timeline().gcCutoffLsn();
            if (r.after().isBefore(r.upTo()) && cutoff.isAfter(r.after())) {
                return Plan.full("timeline " + r.timeline().id() + " has its GC cutoff at " + cutoff + ", above the range "
                        + r + " whose changes the archive must know");
            }
        }
        if (x.gcCutoffLsn().isAfter(h)) {
            return Plan.full("timeline " + x.id() + " has its GC cutoff at " + x.gcCutoffLsn() + ", above the base LSN " + h);
        }
        return new Plan(new Incremental(base, baseSizes, changed), null, path.toString());
    }

    /** Adds the relation keys of the range's own layers (open, frozen, delta; not images) with an entry in it. */
    static void collect(Range r, ChangedBlocks into) {
        if (!r.after().isBefore(r.upTo())) {
            return;
        }
        long from = r.after().value() + 1;
        long to = r.upTo().value() + 1;
        KeyLsnVisitor visitor = (key, lsn, value) -> {
            if (key.isRelationBlock()) {
                into.addBlock(key);
            } else if (key.isRelationSize()) {
                into.addSize(key, sizeOf(value.get()));
            }
        };
        LayerMap m = r.timeline().store().layerMap();
        if (m.open() != null) {
            m.open().walkKeys(KeyRange.RELATIONS, from, to, visitor);
        }
        for (InMemoryLayer f : m.frozen()) {
            f.walkKeys(KeyRange.RELATIONS, from, to, visitor);
        }
        for (DeltaLayer d : m.deltas()) {
            d.walkKeys(KeyRange.RELATIONS, from, to, visitor);
        }
    }

    /** A size entry's block count; anything else (a record, not 4 bytes) is 0: everything from 0 is sent. */
    static long sizeOf(Value v) {
        if (v instanceof Value.Image image && image.bytes().length == BlockCount.BYTES) {
            return BlockCount.decode(image.bytes());
        }
        return 0;
    }

    /**
     * The forks the base directory holds as files an archive may reuse, with their lengths: every
     * fork in the relation directories at X@H of a relation that is not unlogged there (an
     * unlogged relation's files are reset from its init fork; the archive sends those whole).
     */
    static Map<ChangedBlocks.Fork, Long> baseForks(LayerStore store, Lsn h, Timeline x) {
        Map<ChangedBlocks.Fork, Long> out = new HashMap<>();
        DbDirectory dbs = DbDirectory.decode(store.getValue(Key.databaseDirectory(), h, x.redo()));
        for (DbDirectory.Db db : dbs.entries()) {
            RelDirectory rels = RelDirectory.decode(store.getValue(Key.relationDirectory(db.spcOid(), db.dbOid()), h,
                    x.redo()));
            for (RelDirectory.RelFork rf : rels.entries()) {
                if (rels.contains(rf.relNumber(), 3)) {
                    continue;
                }
                long size = BlockCount.decode(store.getValue(Key.relationSize(db.spcOid(), db.dbOid(), rf.relNumber(),
                        rf.fork()), h, x.redo()));
                if (size >= 0) {
                    out.put(new ChangedBlocks.Fork(db.spcOid(), db.dbOid(), rf.relNumber(), rf.fork()), size);
                }
            }
        }
        return out;
    }
}
