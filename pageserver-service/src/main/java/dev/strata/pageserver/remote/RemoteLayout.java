package dev.strata.pageserver.remote;

import dev.strata.pageserver.layer.LayerName;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.remote.Generation;

/**
 * The object keys of a pageserver's history (decision 0016), relative to the configured prefix:
 *
 * <pre>
 *   pageserver/v1/timelines/&lt;timeline id&gt;/&lt;layer file name&gt;-&lt;generation&gt;
 *   pageserver/v1/timelines/&lt;timeline id&gt;/index_part.json-&lt;generation&gt;
 *   generation = 8 lowercase hex digits of the writer's attach generation
 * </pre>
 *
 * A key is never written by two generations, so a stale pageserver cannot overwrite what the
 * current one wrote (its layers or its index). A layer keeps the key it was first uploaded with:
 * the index names each layer's generation, and a later generation references it as it is.
 * The hex suffix sorts in generation order, so listing {@link #indexPrefix} finds the newest index.
 */
public final class RemoteLayout {

    public static final String ROOT = "pageserver/v1/timelines/";
    static final String INDEX = "index_part.json-";

    private RemoteLayout() {
    }

    public static String timelinePrefix(TimelineId timeline) {
        return ROOT + timeline + "/";
    }

    public static String layerKey(TimelineId timeline, LayerName layer, Generation generation) {
        return timelinePrefix(timeline) + layer + "-" + generation.hex();
    }

    public static String indexKey(TimelineId timeline, Generation generation) {
        return indexPrefix(timeline) + generation.hex();
    }

    /** Lists every generation's index of the timeline. */
    public static String indexPrefix(TimelineId timeline) {
        return timelinePrefix(timeline) + INDEX;
    }

    /** The generation of an index key from a listing of {@link #indexPrefix}; null if the key is not one. */
    public static Generation indexGeneration(TimelineId timeline, String key) {
        String prefix = indexPrefix(timeline);
        if (!key.startsWith(prefix) || key.length() != prefix.length() + 8) {
            return null;
        }
        try {
            return Generation.parseHex(key.substring(prefix.length()));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
