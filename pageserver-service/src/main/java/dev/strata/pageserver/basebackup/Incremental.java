package dev.strata.pageserver.basebackup;

import java.util.Map;

/**
 * What {@link Basebackup#write} needs to make an archive incremental over a base (decided by
 * {@link IncrementalPlanner}): the base, the length at the base of each fork its directory holds
 * as a file the archive may reuse (logged, in the base's relation directory), and the blocks that
 * may differ between base and target.
 */
public record Incremental(BasebackupBase base, Map<ChangedBlocks.Fork, Long> baseSizes, ChangedBlocks changed) {

    public Incremental {
        if (base == null || baseSizes == null || changed == null) {
            throw new IllegalArgumentException("an incremental basebackup needs its base, the base's fork sizes and"
                    + " the changed blocks");
        }
        baseSizes = Map.copyOf(baseSizes);
    }

    /** The fork's length in blocks in the base, or -1 if the base has no file of it the archive may reuse. */
    public long baseSize(ChangedBlocks.Fork fork) {
        Long size = baseSizes.get(fork);
        return size == null ? -1 : size;
    }
}
