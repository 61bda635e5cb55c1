package dev.strata.pageserver.timeline;

import dev.strata.pageserver.layer.LayerName;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.util.List;

/**
 * The durable state of a timeline's local storage, kept in its {@code metadata} file: which
 * timeline it is, the disk-consistent LSN (every put at or below it is in the listed layer
 * files; WAL ingest resumes after it) and the layer files that make up the timeline.
 */
public record TimelineMetadata(TimelineId timelineId, Lsn diskConsistentLsn, List<LayerName> layers) {

    public TimelineMetadata {
        if (timelineId == null || diskConsistentLsn == null || layers == null) {
            throw new IllegalArgumentException("timeline metadata fields must not be null");
        }
        layers = List.copyOf(layers);
    }

    public TimelineMetadata withDiskConsistentLsn(Lsn lsn) {
        return new TimelineMetadata(timelineId, lsn, layers);
    }

    public TimelineMetadata withLayers(List<LayerName> names) {
        return new TimelineMetadata(timelineId, diskConsistentLsn, names);
    }
}
