package dev.strata.pageserver.timeline;

/**
 * Tuning of one timeline's storage; the defaults are Neon's starting points.
 *
 * @param checkpointDistanceBytes freeze the open in-memory layer once it holds this many bytes
 * @param imageCreationThreshold  create an image layer for a key range once this many delta
 *                                layers stack above its newest image
 * @param imageLayerKeys          keys per image layer (16384 x 8 KiB pages = 128 MiB)
 */
public record StorageConfig(long checkpointDistanceBytes, int imageCreationThreshold, int imageLayerKeys) {

    public static final StorageConfig DEFAULTS = new StorageConfig(256L << 20, 3, 16384);

    public StorageConfig {
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
        return new StorageConfig(bytes, imageCreationThreshold, imageLayerKeys);
    }

    public StorageConfig withImageCreationThreshold(int threshold) {
        return new StorageConfig(checkpointDistanceBytes, threshold, imageLayerKeys);
    }

    public StorageConfig withImageLayerKeys(int keys) {
        return new StorageConfig(checkpointDistanceBytes, imageCreationThreshold, keys);
    }
}
