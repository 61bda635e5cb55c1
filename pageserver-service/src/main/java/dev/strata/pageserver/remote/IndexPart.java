package dev.strata.pageserver.remote;

import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.remote.Generation;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A timeline's index in object storage (decision 0016): everything needed to attach it on a
 * pageserver with an empty disk. Written by one generation under its own key
 * ({@link RemoteLayout#indexKey}) only after every layer it lists is in S3, so an index never
 * names a missing object. JSON ({@link IndexPartCodec}).
 *
 * @param timelineId         the timeline
 * @param generation         the generation that wrote this index
 * @param diskConsistentLsn  every value at or below it is in the listed layers: the
 *                           remote-consistent LSN once this index is durable; ingest resumes after it
 * @param prevRecordLsn      start of the record ending there ({@code xl_prev} of the next); INVALID if unknown
 * @param startLsn           the bottom of the timeline's history ({@code timeline.conf})
 * @param base               imported from initdb or WAL only ({@code timeline.conf})
 * @param dataChecksums      whether the cluster has data checksums ({@code timeline.conf})
 * @param ancestorTimelineId for a branch (later): the parent timeline, else null
 * @param ancestorLsn        for a branch (later): where it branched, else INVALID
 * @param gcCutoffLsn        history below it may be gone (GC, decision 0024): nothing below it is served; INVALID: none removed
 * @param startPrevRecordLsn start of the record ending at the start LSN (a branch's first
 *                           {@code xl_prev}); INVALID if unknown. Optional in the JSON (older indexes lack it)
 * @param layers             every layer of the timeline with its size, CRC-32C and the generation
 *                           whose key holds it
 */
public record IndexPart(TimelineId timelineId, Generation generation, Lsn diskConsistentLsn, Lsn prevRecordLsn,
                        Lsn startLsn, TimelineBase base, boolean dataChecksums, TimelineId ancestorTimelineId,
                        Lsn ancestorLsn, Lsn gcCutoffLsn, Lsn startPrevRecordLsn,
                        SortedMap<LayerName, LayerMeta> layers) {

    /** Without the start's prev record LSN (unknown). */
    public IndexPart(TimelineId timelineId, Generation generation, Lsn diskConsistentLsn, Lsn prevRecordLsn,
                     Lsn startLsn, TimelineBase base, boolean dataChecksums, TimelineId ancestorTimelineId,
                     Lsn ancestorLsn, Lsn gcCutoffLsn, SortedMap<LayerName, LayerMeta> layers) {
        this(timelineId, generation, diskConsistentLsn, prevRecordLsn, startLsn, base, dataChecksums, ancestorTimelineId,
                ancestorLsn, gcCutoffLsn, Lsn.INVALID, layers);
    }

    /** The format this build writes; it reads only this one (a newer index is refused, never guessed at). */
    public static final int FORMAT_VERSION = 1;

    /** What the index knows of one layer. */
    public record LayerMeta(long size, int crc32c, Generation generation) {
        public LayerMeta {
            if (size < 0 || generation == null) {
                throw new IllegalArgumentException("layer size must be >= 0 and its generation known");
            }
        }
    }

    public IndexPart {
        startPrevRecordLsn = startPrevRecordLsn == null ? Lsn.INVALID : startPrevRecordLsn;
        if (timelineId == null || generation == null || diskConsistentLsn == null || prevRecordLsn == null
                || startLsn == null || base == null || ancestorLsn == null || gcCutoffLsn == null || layers == null) {
            throw new IllegalArgumentException("index fields must not be null (ancestor timeline aside)");
        }
        if (startLsn.isAfter(diskConsistentLsn)) {
            throw new IllegalArgumentException("timeline " + timelineId + ": start LSN " + startLsn
                    + " is above the disk-consistent LSN " + diskConsistentLsn);
        }
        if ((ancestorTimelineId == null) != !ancestorLsn.isValid()) {
            throw new IllegalArgumentException("timeline " + timelineId + ": ancestor timeline and ancestor LSN go together");
        }
        for (var e : layers.entrySet()) {
            if (e.getKey().lsnRange().last().isAfter(diskConsistentLsn)) {
                throw new IllegalArgumentException("timeline " + timelineId + ": layer " + e.getKey()
                        + " reaches beyond the disk-consistent LSN " + diskConsistentLsn);
            }
            if (e.getValue().generation().compareTo(generation) > 0) {
                throw new IllegalArgumentException("timeline " + timelineId + ": layer " + e.getKey() + " of generation "
                        + e.getValue().generation() + " is newer than the index's generation " + generation);
            }
        }
        layers = Collections.unmodifiableSortedMap(new TreeMap<>(layers));
    }
}
