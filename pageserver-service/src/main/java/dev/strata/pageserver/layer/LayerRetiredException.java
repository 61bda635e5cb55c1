package dev.strata.pageserver.layer;

/**
 * A read reached a layer that compaction or GC removed from the timeline after the read took its
 * layer map snapshot. Not an error of the data: the layer store searches again on the current
 * snapshot, which no longer holds the layer (the layers that replaced it hold the same versions).
 */
public final class LayerRetiredException extends RuntimeException {

    public LayerRetiredException(String message) {
        super(message, null, false, false);
    }
}
