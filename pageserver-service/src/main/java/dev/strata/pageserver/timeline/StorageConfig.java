package dev.strata.pageserver.timeline;

/**
 * Tuning of one timeline's storage; the defaults are Neon's starting points.
 *
 * @param checkpointDistanceBytes freeze the open in-memory layer once it holds this many bytes
 * @param imageCreationThreshold  create an image layer for a key range once this many delta
 *                                layers stack above its newest image
 * @param imageLayerKeys          keys per image layer (16384 x 8 KiB pages = 128 MiB)
 * @param layerCacheBudgetBytes   local layer files of the whole pageserver above which layers that
 *                                are in object storage are evicted (docs/pageserver.md, "Layer cache")
 * @param compactionThreshold     merge the L0 delta layers (written from memory, covering every key)
 *                                into L1 delta layers once this many stack (Neon's
 *                                {@code compaction_threshold}; decision 0033)
 * @param compactionTargetBytes   cut L1 delta layers at the first key boundary past this size (Neon's
 *                                {@code compaction_target_size})
 */
public record StorageConfig(long checkpointDistanceBytes, int imageCreationThreshold, int imageLayerKeys,
                            long layerCacheBudgetBytes, int compactionThreshold, long compactionTargetBytes) {

    /** Default layer cache budget: 16 GiB of layer files on local disk. */
    public static final long DEFAULT_LAYER_CACHE_BUDGET = 16L << 30;
    /** Default L0 count that triggers L0 -> L1 compaction (Neon's default). */
    public static final int DEFAULT_COMPACTION_THRESHOLD = 10;
    /** Default L1 delta layer size: 128 MiB (Neon's default). */
    public static final long DEFAULT_COMPACTION_TARGET_BYTES = 128L << 20;

    public static final StorageConfig DEFAULTS = new StorageConfig(256L << 20, 3, 16384);

    public StorageConfig(long checkpointDistanceBytes, int imageCreationThreshold, int imageLayerKeys) {
        this(checkpointDistanceBytes, imageCreationThreshold, imageLayerKeys, DEFAULT_LAYER_CACHE_BUDGET);
    }

    public StorageConfig(long checkpointDistanceBytes, int imageCreationThreshold, int imageLayerKeys,
                         long layerCacheBudgetBytes) {
        this(checkpointDistanceBytes, imageCreationThreshold, imageLayerKeys, layerCacheBudgetBytes,
                DEFAULT_COMPACTION_THRESHOLD, DEFAULT_COMPACTION_TARGET_BYTES);
    }

    public StorageConfig {
        if (layerCacheBudgetBytes <= 0) {
            throw new IllegalArgumentException("layerCacheBudgetBytes must be positive, got " + layerCacheBudgetBytes);
        }
        if (checkpointDistanceBytes <= 0) {
            throw new IllegalArgumentException("checkpointDistanceBytes must be positive, got " + checkpointDistanceBytes);
        }
        if (imageCreationThreshold < 1) {
            throw new IllegalArgumentException("imageCreationThreshold must be at least 1, got " + imageCreationThreshold);
        }
        if (imageLayerKeys < 1) {
            throw new IllegalArgumentException("imageLayerKeys must be at least 1, got " + imageLayerKeys);
        }
        if (compactionThreshold < 2) {
            throw new IllegalArgumentException("compactionThreshold must be at least 2 (one L0 is nothing to merge), got "
                    + compactionThreshold);
        }
        if (compactionTargetBytes <= 0) {
            throw new IllegalArgumentException("compactionTargetBytes must be positive, got " + compactionTargetBytes);
        }
    }

    public StorageConfig withCheckpointDistanceBytes(long bytes) {
        return new StorageConfig(bytes, imageCreationThreshold, imageLayerKeys, layerCacheBudgetBytes,
                compactionThreshold, compactionTargetBytes);
    }

    public StorageConfig withImageCreationThreshold(int threshold) {
        return new StorageConfig(checkpointDistanceBytes, threshold, imageLayerKeys, layerCacheBudgetBytes,
                compactionThreshold, compactionTargetBytes);
    }

    public StorageConfig withImageLayerKeys(int keys) {
        return new StorageConfig(checkpointDistanceBytes, imageCreationThreshold, keys, layerCacheBudgetBytes,
                compactionThreshold, compactionTargetBytes);
    }

    public StorageConfig withLayerCacheBudgetBytes(long bytes) {
        return new StorageConfig(checkpointDistanceBytes, imageCreationThreshold, imageLayerKeys, bytes,
                compactionThreshold, compactionTargetBytes);
    }

    public StorageConfig withCompactionThreshold(int layers) {
        return new StorageConfig(checkpointDistanceBytes, imageCreationThreshold, imageLayerKeys, layerCacheBudgetBytes,
                layers, compactionTargetBytes);
    }

    public StorageConfig withCompactionTargetBytes(long bytes) {
        return new StorageConfig(checkpointDistanceBytes, imageCreationThreshold, imageLayerKeys, layerCacheBudgetBytes,
                compactionThreshold, bytes);
    }
}
