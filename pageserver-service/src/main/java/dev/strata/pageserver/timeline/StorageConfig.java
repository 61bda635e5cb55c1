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
 */
public record StorageConfig(long checkpointDistanceBytes, int imageCreationThreshold, int imageLayerKeys,
                            long layerCacheBudgetBytes) {

    /** Default layer cache budget: 16 GiB of layer files on local disk. */
    public static final long DEFAULT_LAYER_CACHE_BUDGET = 16L << 30;

    public static final StorageConfig DEFAULTS = new StorageConfig(256L << 20, 3, 16384);

    public StorageConfig(long checkpointDistanceBytes, int imageCreationThreshold, int imageLayerKeys) {
        this(checkpointDistanceBytes, imageCreationThreshold, imageLayerKeys, DEFAULT_LAYER_CACHE_BUDGET);
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
    }

    public StorageConfig withCheckpointDistanceBytes(long bytes) {
        return new StorageConfig(bytes, imageCreationThreshold, imageLayerKeys, layerCacheBudgetBytes);
    }

    public StorageConfig withImageCreationThreshold(int threshold) {
        return new StorageConfig(checkpointDistanceBytes, threshold, imageLayerKeys, layerCacheBudgetBytes);
    }

    public StorageConfig withImageLayerKeys(int keys) {
        return new StorageConfig(checkpointDistanceBytes, imageCreationThreshold, keys, layerCacheBudgetBytes);
    }

    public StorageConfig withLayerCacheBudgetBytes(long bytes) {
        return new StorageConfig(checkpointDistanceBytes, imageCreationThreshold, imageLayerKeys, bytes);
    }
}
