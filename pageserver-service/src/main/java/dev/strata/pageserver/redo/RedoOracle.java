package dev.strata.pageserver.redo;

import dev.strata.pageserver.redo.brin.BrinRedo;
import dev.strata.pageserver.redo.btree.BtreeRedo;
import dev.strata.pageserver.redo.generic.GenericRedo;
import dev.strata.pageserver.redo.gin.GinRedo;
import dev.strata.pageserver.redo.gist.GistRedo;
import dev.strata.pageserver.redo.hash.HashRedo;
import dev.strata.pageserver.redo.heap.Heap2Redo;
import dev.strata.pageserver.redo.heap.HeapRedo;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pageserver.redo.sequence.SequenceRedo;
import dev.strata.pageserver.redo.spgist.SpgistRedo;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.ForkNumber;
import dev.strata.pgcore.wal.RmgrId;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The images are the oracle (issue 14, item 2). While a resource manager is in the compute's
 * {@code wal_consistency_checking}, each of its records carries, for every block it changes,
 * the page as the primary left it (an image without BKPIMAGE_APPLY: redo is meant to
 * recompute it, and PostgreSQL's own standby compares). For every such block this applies the
 * Java routine to the block's previous version, masks both pages with the manager's
 * {@code rm_mask} exactly as {@code verifyBackupPageConsistency} does, and compares.
 *
 * <p>A difference is logged (LSN, relation, fork, block, record type, first differing byte)
 * and counted; so is a routine that throws. Ingest goes on either way and stores the image:
 * the oracle never decides what is stored, and never fails ingest.
 *
 * <p>Per record type ({@code Heap/INSERT+INIT}, ...), counted per record: seen; verified (every
 * block with a consistency image compared equal, at least one); mismatched (at least one
 * differed or the routine failed); no-routine; unchecked (nothing to compare: the images were
 * real full-page writes restored as they are, or the previous version is not on this timeline,
 * e.g. a relation older than a WAL-only start, or the record registers no block).
 *
 * <p>Used by the ingest thread only; {@link #snapshot} may be called from any thread.
 */
public final class RedoOracle {

    private static final Logger log = LoggerFactory.getLogger(RedoOracle.class);
    /** Mismatch lines logged in full before the oracle only logs every 1000th. */
    private static final int LOGGED_IN_FULL = 50;
    private static final long SUMMARY_INTERVAL_NANOS = 60_000_000_000L;

    /** Where the oracle gets a block's version before the record: a copy it may modify, or null if there is none. */
    @FunctionalInterface
    public interface PageSource {
        byte[] previous(BlockReference block);
    }

    /** Counters of one record type. */
    public record Counts(long seen, long verified, long mismatched, long noRoutine, long unchecked,
                         long blocksCompared) {
    }

    private final Map<Integer, RmgrRedo> routines;
    private final boolean enabled;
    private final Map<String, long[]> counts = new TreeMap<>();
    private long mismatches;
    /** Time spent in {@link #check}: reading previous versions, redo, masking, comparing. */
    private long nanos;
    private long lastSummary = System.nanoTime();
    private boolean changedSinceSummary;

    /**
     * @param routines the redo per resource manager id that the oracle checks; records of other
     *                 managers are not looked at
     */
    public RedoOracle(Map<Integer, RmgrRedo> routines, boolean enabled) {
        this.routines = Map.copyOf(routines);
        this.enabled = enabled;
    }

    /** The routines Strata has: heap, heap2, btree, hash, GIN, GiST, SP-GiST, sequence, BRIN and generic WAL. */
    public static Map<Integer, RmgrRedo> defaultRoutines() {
        Map<Integer, RmgrRedo> m = new LinkedHashMap<>();
        m.put(RmgrId.HEAP.id(), new HeapRedo());
        m.put(RmgrId.HEAP2.id(), new Heap2Redo());
        m.put(RmgrId.BTREE.id(), new BtreeRedo());
        m.put(RmgrId.HASH.id(), new HashRedo());
        m.put(RmgrId.GIN.id(), new GinRedo());
        m.put(RmgrId.GIST.id(), new GistRedo());
        m.put(RmgrId.SPGIST.id(), new SpgistRedo());
        m.put(RmgrId.SEQUENCE.id(), new SequenceRedo());
        m.put(RmgrId.BRIN.id(), new BrinRedo());
        m.put(RmgrId.GENERIC.id(), new GenericRedo());
        return m;
    }

    /**
     * The oracle ingest runs unless the system property {@code strata.redo.oracle} is
     * {@code off} (it reads the previous version of every checked block, one store lookup each).
     */
    public static RedoOracle defaults() {
        return new RedoOracle(defaultRoutines(), !"off".equals(System.getProperty("strata.redo.oracle")));
    }

    public boolean enabled() {
        return enabled;
    }

    /** Checks one record; never throws. */
    public void check(DecodedRecord r, PageSource previous) {
        if (!enabled) {
            return;
        }
        RmgrRedo redo = routines.get(r.rmid());
        if (redo == null) {
            return;
        }
        String type = RmgrId.nameOf(r.rmid()) + "/" + r.recordTypeName();
        long[] c;
        synchronized (counts) {
            c = counts.computeIfAbsent(type, k -> new long[6]);
        }
        long started = System.nanoTime();
        int compared = 0;
        int mismatched = 0;
        boolean handles;
        try {
            handles = redo.handles(r);
        } catch (RuntimeException e) {
            handles = false;
        }
        if (handles) {
            for (BlockReference b : r.blocks()) {
                if (!b.hasImage() || b.image().apply()) {
                    continue; // no image, or a real full-page write: redo restores it, nothing to compare
                }
                Boolean equal = compare(r, type, redo, b, previous);
                if (equal == null) {
                    continue;
                }
                compared++;
                if (!equal) {
                    mismatched++;
                }
            }
        }
        synchronized (counts) {
            c[0]++;
            if (!handles) {
                c[3]++;
            } else if (mismatched > 0) {
                c[2]++;
                mismatches++;
            } else if (compared > 0) {
                c[1]++;
            } else {
                c[4]++;
            }
            c[5] += compared;
            nanos += System.nanoTime() - started;
        }
        changedSinceSummary = true;
        long now = System.nanoTime();
        if (now - lastSummary > SUMMARY_INTERVAL_NANOS) {
            lastSummary = now;
            changedSinceSummary = false;
            log.info("redo oracle so far ({} mismatched records):\n{}", mismatches(), table());
        }
    }

    /** True if equal after masking, false if not (or the routine failed), null if nothing to compare. */
    private Boolean compare(DecodedRecord r, String type, RmgrRedo redo, BlockReference b, PageSource previous) {
        byte[] page;
        try {
            page = b.willInit() ? new byte[Page.SIZE] : previous.previous(b);
        } catch (RuntimeException e) {
            log.debug("redo oracle: no previous version of {} at {}: {}", b, r.startLsn(), e.toString());
            return null;
        }
        if (page == null) {
            if (b.forkNumber() != ForkNumber.VISIBILITY_MAP.ordinal()) {
                return null; // the block predates what this timeline has
            }
            page = new byte[Page.SIZE]; // a VM page is read with RBM_ZERO_ON_ERROR and initialised if new
        }
        byte[] expected;
        try {
            expected = b.restoredPage();
        } catch (RuntimeException e) {
            report(r, type, b, "image cannot be restored: " + e.getMessage());
            return false;
        }
        try {
            redo.redo(r, b, page);
        } catch (RuntimeException e) {
            report(r, type, b, "routine failed: " + e);
            return false;
        }
        if (b.forkNumber() == ForkNumber.VISIBILITY_MAP.ordinal()) {
            // heap_mask hides a whole VM page (its bitmap lies between pd_lower and pd_upper), so
            // PostgreSQL checks nothing there. Stricter here: all but pd_lsn and pd_checksum.
            int at = Arrays.mismatch(page, 10, Page.SIZE, expected, 10, Page.SIZE);
            if (at >= 0) {
                report(r, type, b, "visibility-map page differs at byte " + (at + 10) + " (redo 0x"
                        + Integer.toHexString(page[at + 10] & 0xFF) + ", image 0x"
                        + Integer.toHexString(expected[at + 10] & 0xFF) + ")");
                return false;
            }
        }
        try {
            redo.mask(page, b.blockNumber());
            redo.mask(expected, b.blockNumber());
        } catch (RuntimeException e) {
            report(r, type, b, "masking failed (page pointers insane after redo?): " + e.getMessage());
            return false;
        }
        int at = Arrays.mismatch(page, expected);
        if (at < 0) {
            return true;
        }
        int differing = 0;
        for (int i = at; i < Page.SIZE; i++) {
            if (page[i] != expected[i]) {
                differing++;
            }
        }
        report(r, type, b, differing + " bytes differ after masking, first at " + at + " (redo 0x"
                + Integer.toHexString(page[at] & 0xFF) + ", image 0x" + Integer.toHexString(expected[at] & 0xFF) + ")");
        return false;
    }

    private void report(DecodedRecord r, String type, BlockReference b, String what) {
        long n;
        synchronized (counts) {
            n = mismatches;
        }
        if (n < LOGGED_IN_FULL || n % 1000 == 0) {
            log.warn("redo oracle MISMATCH at {} ({}): rel {} fork {} blk {}: {}; the image is stored", r.startLsn(),
                    type, b.locator(), b.forkNumber(), b.blockNumber(), what);
        }
    }

    /** Records whose redo disagreed with their images (or failed), all types. */
    public long mismatches() {
        synchronized (counts) {
            return mismatches;
        }
    }

    /** Nanoseconds the ingest thread spent in the oracle. */
    public long nanosSpent() {
        synchronized (counts) {
            return nanos;
        }
    }

    /** The counters per record type, sorted by name. */
    public Map<String, Counts> snapshot() {
        Map<String, Counts> out = new TreeMap<>();
        synchronized (counts) {
            counts.forEach((k, c) -> out.put(k, new Counts(c[0], c[1], c[2], c[3], c[4], c[5])));
        }
        return out;
    }

    /** The counters as a fixed-width table, one line per record type. */
    public String table() {
        StringBuilder sb = new StringBuilder(String.format("%-32s %9s %9s %10s %10s %9s %9s%n", "record type", "seen",
                "verified", "mismatched", "no-routine", "unchecked", "blocks"));
        snapshot().forEach((k, c) -> sb.append(String.format("%-32s %9d %9d %10d %10d %9d %9d%n", k, c.seen(),
                c.verified(), c.mismatched(), c.noRoutine(), c.unchecked(), c.blocksCompared())));
        return sb.toString();
    }

    /** Logs the table if anything was counted since the last summary (timeline shutdown). */
    public void logSummary() {
        if (enabled && changedSinceSummary) {
            changedSinceSummary = false;
            log.info("redo oracle ({} mismatched records):\n{}", mismatches(), table());
        }
    }
}
