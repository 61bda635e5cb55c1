package dev.strata.pageserver.timeline;

import dev.strata.pageserver.layer.LayerName;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.util.List;

/**
 * The durable state of a timeline's local storage, kept in its {@code metadata} file: which
 * timeline it is, the disk-consistent LSN (every put at or below it is in the listed layer
 * files; WAL ingest resumes after it), the prev record LSN at that point (the start of the
 * record that ends at the disk-consistent LSN: the {@code xl_prev} of the first record
 * re-ingested after a restart; {@link Lsn#INVALID} when unknown, as in format version 1) and
 * the layer files that make up the timeline.
 */
public record TimelineMetadata(TimelineId timelineId, Lsn diskConsistentLsn, Lsn prevRecordLsn, List<LayerName> layers) {

    public TimelineMetadata {
        if (timelineId == null || diskConsistentLsn == null || prevRecordLsn == null || layers == null) {
            throw new IllegalArgumentException("timeline metadata fields must not be null");
        }
        if (prevRecordLsn.isValid() && !prevRecordLsn.isBefore(diskConsistentLsn)) {
            throw new IllegalArgumentException("prev record LSN " + prevRecordLsn
                    + " must be below the disk-consistent LSN " + diskConsistentLsn);
        }
        layers = List.copyOf(layers);
    }

    /** Without a known prev record LSN. */
    public TimelineMetadata(TimelineId timelineId, Lsn diskConsistentLsn, List<LayerName> layers) {
        this(timelineId, diskConsistentLsn, Lsn.INVALID, layers);
    }

    public TimelineMetadata withDiskConsistentLsn(Lsn lsn, Lsn prev) {
        return new TimelineMetadata(timelineId, lsn, prev, layers);
    }

    public TimelineMetadata withLayers(List<LayerName> names) {
        return new TimelineMetadata(timelineId, diskConsistentLsn, prevRecordLsn, names);
    }
}
