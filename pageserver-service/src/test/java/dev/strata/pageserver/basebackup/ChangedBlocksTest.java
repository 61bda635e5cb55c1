package dev.strata.pageserver.basebackup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.key.Key;
import java.util.BitSet;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Which blocks of a segment an incremental archive sends ({@link ChangedBlocks#segment}): the
 * fork-level facts (changed blocks, sizes at both ends, the smallest size seen in range) mapped
 * into 1 GiB segment files, tested here because a relation of several GiB is too big for the
 * end-to-end tests.
 */
class ChangedBlocksTest {

    private static final int SEG = IncrementalFormat.SEGMENT_BLOCKS;
    private static final ChangedBlocks.Fork FORK = new ChangedBlocks.Fork(1663, 5, 16384, 0);

    @Test
    void onlyChangedBlocksWhenNothingShrankOrGrew() {
        ChangedBlocks c = changed(3, 7, 9);
        ChangedBlocks.Segment s = c.segment(FORK, 0, 10, 10);
        assertThat(s.baseBlocks()).isEqualTo(10);
        assertThat(s.blocks()).isEqualTo(10);
        assertThat(s.pages()).containsExactly(3, 7, 9);
    }

    @Test
    void blocksTheBaseDoesNotHaveAreAlwaysSent() {
        ChangedBlocks c = changed(2);
        ChangedBlocks.Segment s = c.segment(FORK, 0, 5, 8);
        assertThat(s.baseBlocks()).isEqualTo(5);
        assertThat(s.blocks()).isEqualTo(8);
        assertThat(s.pages()).containsExactly(2, 5, 6, 7);
    }

    @Test
    void changedBlocksBeyondTheTargetsLengthAreNotSent() {
        ChangedBlocks c = changed(1, 6, 8);
        ChangedBlocks.Segment s = c.segment(FORK, 0, 10, 4);
        assertThat(s.baseBlocks()).isEqualTo(10);
        assertThat(s.blocks()).isEqualTo(4);
        assertThat(s.pages()).containsExactly(1);
    }

    @Test
    void everythingFromTheSmallestSizeSeenIsSent() {
        // Truncated to 3 and extended again to 10 in range: blocks 3.. may differ without an entry.
        ChangedBlocks c = changed(1, 8);
        c.addSize(Key.relationSize(1663, 5, 16384, 0), 10);
        c.addSize(Key.relationSize(1663, 5, 16384, 0), 3);
        c.addSize(Key.relationSize(1663, 5, 16384, 0), 10);
        assertThat(c.minSizeSeen(FORK)).isEqualTo(3);
        ChangedBlocks.Segment s = c.segment(FORK, 0, 10, 10);
        assertThat(s.pages()).containsExactly(1, 3, 4, 5, 6, 7, 8, 9);
        // A drop (a size of 0) in range: the whole fork.
        c.addSize(Key.relationSize(1663, 5, 16384, 0), 0);
        assertThat(c.segment(FORK, 0, 10, 10).pages()).containsExactly(IntStream.range(0, 10).toArray());
        // Other forks are not affected.
        assertThat(c.minSizeSeen(new ChangedBlocks.Fork(1663, 5, 16384, 1))).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void forkBlocksMapIntoSegmentFiles() {
        // 2.5 segments at the base, 2 segments + 10 blocks at the target.
        long baseSize = 2L * SEG + SEG / 2;
        long size = 2L * SEG + 10;
        ChangedBlocks c = changed(5, SEG + 1, 2 * SEG + 3, 2 * SEG + 20);
        ChangedBlocks.Segment s0 = c.segment(FORK, 0, baseSize, size);
        assertThat(s0.baseBlocks()).isEqualTo(SEG);
        assertThat(s0.blocks()).isEqualTo(SEG);
        assertThat(s0.pages()).containsExactly(5);
        ChangedBlocks.Segment s1 = c.segment(FORK, 1, baseSize, size);
        assertThat(s1.pages()).containsExactly(1); // block SEG + 1, within its segment
        ChangedBlocks.Segment s2 = c.segment(FORK, 2, baseSize, size);
        assertThat(s2.baseBlocks()).isEqualTo(SEG / 2);
        assertThat(s2.blocks()).isEqualTo(10);
        assertThat(s2.pages()).containsExactly(3); // block 2 SEG + 20 is past the target's end

        // The floor in the middle of segment 1: segment 0 as before, 1 from the floor on, 2 whole.
        c.addSize(Key.relationSize(1663, 5, 16384, 0), SEG + 100);
        assertThat(c.segment(FORK, 0, baseSize, size).pages()).containsExactly(5);
        int[] p1 = c.segment(FORK, 1, baseSize, size).pages();
        assertThat(p1).hasSize(1 + SEG - 100);
        assertThat(p1[0]).isEqualTo(1);
        assertThat(p1[1]).isEqualTo(100);
        assertThat(p1[p1.length - 1]).isEqualTo(SEG - 1);
        assertThat(c.segment(FORK, 2, baseSize, size).pages()).containsExactly(IntStream.range(0, 10).toArray());
    }

    @Test
    void aSegmentTheBaseDoesNotHaveIsSentWhole() {
        ChangedBlocks.Segment s = ChangedBlocks.segment(1, SEG - 4, SEG + 6, Long.MAX_VALUE, null);
        assertThat(s.baseBlocks()).isZero();
        assertThat(s.blocks()).isEqualTo(6);
        assertThat(s.pages()).containsExactly(0, 1, 2, 3, 4, 5);
        BitSet none = new BitSet();
        ChangedBlocks.Segment last = ChangedBlocks.segment(0, SEG - 4, SEG - 4, Long.MAX_VALUE, none);
        assertThat(last.baseBlocks()).isEqualTo(SEG - 4);
        assertThat(last.pages()).isEmpty();
    }

    @Test
    void blockNumbersAboveTwoToTheThirtyOneAreUnsigned() {
        int block = 0xF000_0005; // segment 30720 + 5: a relation of 30 TiB
        ChangedBlocks c = new ChangedBlocks();
        c.addBlock(Key.relationBlock(1663, 5, 16384, 0, block));
        long unsigned = Integer.toUnsignedLong(block);
        assertThat(c.changed(FORK, unsigned)).isTrue();
        assertThat(c.changed(FORK, unsigned - 1)).isFalse();
        long seg = unsigned / SEG;
        assertThat(c.segment(FORK, seg, unsigned + 1, unsigned + 1).pages()).containsExactly((int) (unsigned % SEG));
        assertThat(c.blocks()).isEqualTo(1);
    }

    private static ChangedBlocks changed(int... blocks) {
        ChangedBlocks c = new ChangedBlocks();
        for (int b : blocks) {
            c.addBlock(Key.relationBlock(1663, 5, 16384, 0, b));
        }
        return c;
    }
}
