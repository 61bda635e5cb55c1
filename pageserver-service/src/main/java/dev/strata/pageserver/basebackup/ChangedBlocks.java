package dev.strata.pageserver.basebackup;

import dev.strata.pageserver.key.Key;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * The relation blocks that may differ between an incremental basebackup's base and its target,
 * as {@link IncrementalPlanner} collects them from the entries of the LSN ranges between the two:
 * every block with an entry, and per fork the smallest size any size entry there holds (a
 * truncation followed by re-extension leaves blocks whose content changed without an entry in
 * the range, so everything from that size on must be sent). Per fork and 1 GiB segment a bit set
 * of the blocks within the segment: at most 16 KiB per segment touched.
 */
public final class ChangedBlocks {

    private static final int SEG = Basebackup.RELSEG_BLOCKS;

    /** One relation fork: the unit a size and a segment file belong to. */
    public record Fork(int spcOid, int dbOid, int relNumber, int fork) {

        static Fork of(Key key) {
            return new Fork(key.field2(), key.field3(), key.field4(), key.field5());
        }

        @Override
        public String toString() {
            return Integer.toUnsignedString(spcOid) + "/" + Integer.toUnsignedString(dbOid) + "/"
                    + Integer.toUnsignedString(relNumber) + "." + fork;
        }
    }

    private final Map<Fork, Map<Long, BitSet>> blocks = new HashMap<>();
    private final Map<Fork, Long> minSizes = new HashMap<>();
    private long blockEntries;
    private long sizeEntries;

    /** Notes a relation block key with an entry in range. */
    void addBlock(Key key) {
        long block = Integer.toUnsignedLong(key.field6());
        blocks.computeIfAbsent(Fork.of(key), f -> new HashMap<>())
                .computeIfAbsent(block / SEG, s -> new BitSet())
                .set((int) (block % SEG));
        blockEntries++;
    }

    /** Notes a relation size entry in range holding {@code size} blocks (0 for anything that is not a size). */
    void addSize(Key key, long size) {
        minSizes.merge(Fork.of(key), size, Math::min);
        sizeEntries++;
    }

    /** The smallest size seen in range for the fork, or {@link Long#MAX_VALUE} if its size has no entry there. */
    public long minSizeSeen(Fork fork) {
        return minSizes.getOrDefault(fork, Long.MAX_VALUE);
    }

    /** Whether block {@code block} (unsigned) of the fork has an entry in range. */
    public boolean changed(Fork fork, long block) {
        BitSet s = inSegment(fork, block / SEG);
        return s != null && s.get((int) (block % SEG));
    }

    /** Distinct blocks with an entry in range. */
    public long blocks() {
        long n = 0;
        for (Map<Long, BitSet> segments : blocks.values()) {
            for (BitSet s : segments.values()) {
                n += s.cardinality();
            }
        }
        return n;
    }

    /** Block and size entries seen (a block changed twice counts twice). */
    public long entries() {
        return blockEntries + sizeEntries;
    }

    /** Forks with a changed block or a size entry in range. */
    public int forks() {
        java.util.Set<Fork> all = new java.util.HashSet<>(blocks.keySet());
        all.addAll(minSizes.keySet());
        return all.size();
    }

    BitSet inSegment(Fork fork, long segment) {
        Map<Long, BitSet> segments = blocks.get(fork);
        return segments == null ? null : segments.get(segment);
    }

    /**
     * What an incremental archive says about one segment file of a fork: its length in the base
     * and at the target (blocks), and the blocks within it to send, ascending.
     */
    public record Segment(long baseBlocks, long blocks, int[] pages) {
    }

    /**
     * The reuse entry of segment {@code segment} of {@code fork}, {@code baseSize} blocks long in
     * the base and {@code size} at the target: every block below the target's length that has an
     * entry in range, and every block at or above the floor, min(base size, smallest size seen in
     * range). Blocks below the floor without an entry are the base's: the same at both ends. The
     * floor is at most the base's length, so every block the base's file does not have is sent.
     */
    public Segment segment(Fork fork, long segment, long baseSize, long size) {
        return segment(segment, baseSize, size, minSizeSeen(fork), inSegment(fork, segment));
    }

    /** {@link #segment(Fork, long, long, long)} with the fork's facts given: pure, for the tests. */
    static Segment segment(long segment, long baseSize, long size, long minSizeSeen, BitSet changedInSegment) {
        long first = segment * SEG;
        long blocks = clamp(size - first);
        long baseBlocks = clamp(baseSize - first);
        long floor = Math.min(baseSize, minSizeSeen);
        long sendFrom = Math.min(blocks, clamp(floor - first));
        int changedBelow = 0;
        if (changedInSegment != null) {
            for (int b = changedInSegment.nextSetBit(0); b >= 0 && b < sendFrom; b = changedInSegment.nextSetBit(b + 1)) {
                changedBelow++;
            }
        }
        int[] pages = new int[changedBelow + (int) (blocks - sendFrom)];
        int n = 0;
        if (changedInSegment != null) {
            for (int b = changedInSegment.nextSetBit(0); b >= 0 && b < sendFrom; b = changedInSegment.nextSetBit(b + 1)) {
                pages[n++] = b;
            }
        }
        for (long b = sendFrom; b < blocks; b++) {
            pages[n++] = (int) b;
        }
        return new Segment(baseBlocks, blocks, pages);
    }

    private static long clamp(long blocks) {
        return Math.max(0, Math.min(SEG, blocks));
    }
}
