package dev.strata.pageserver.http;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.timeline.Retention;
import dev.strata.pageserver.timeline.IngestPosition;
import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pageserver.timeline.TimelineManager;
import dev.strata.pageserver.timeline.WalSource;
import dev.strata.pgcore.control.ControlFile;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/**
 * JSON shapes of the pageserver management API (docs/pageserver.md). LSNs travel as {@code X/Y}
 * text, timeline ids as 32 hex digits; unknown fields are refused. Conversion to domain types
 * happens here and fails with {@link IllegalArgumentException} (HTTP 400) naming the field.
 */
public final class Dto {

    private Dto() {
    }

    static Lsn parseLsn(String field, String text) {
        if (text == null) {
            throw new IllegalArgumentException(field + " is missing");
        }
        try {
            return Lsn.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": " + e.getMessage());
        }
    }

    static TimelineId parseTimelineId(String field, String text) {
        if (text == null) {
            throw new IllegalArgumentException(field + " is missing");
        }
        try {
            return TimelineId.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": " + e.getMessage());
        }
    }

    /**
     * A walsender; the user defaults to the pageserver's replication user, the password must be
     * given: the pageserver never sends a credential of its own to a host a caller names.
     */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record Source(String host, int port, @Nullable String user, @Nullable String password) {
        WalSource toDomain(String defaultUser) {
            if (password == null) {
                throw new IllegalArgumentException("WAL source " + host + ":" + port + ": no password given; every WAL"
                        + " source needs its own (the pageserver sends no default credentials to a host named in a request)");
            }
            return new WalSource(host, port, user == null ? defaultUser : user, password);
        }

        static Source of(WalSource s) {
            return new Source(s.host(), s.port(), s.user(), null); // never echo a password
        }
    }

    static List<WalSource> sources(List<Source> list, String user) {
        return list == null ? List.of() : list.stream().map(s -> {
            if (s == null) {
                throw new IllegalArgumentException("walSources holds a null entry");
            }
            return s.toDomain(user);
        }).toList();
    }

    /**
     * Create a timeline: with {@code initdb: true} from initdb's output, or WAL-only at
     * {@code startLsn} (a segment start), or, with {@code ancestorTimelineId}, a branch of that
     * timeline at {@code ancestorLsn} (absent: the parent's last record LSN), which inherits
     * everything else from its parent (so initdb, startLsn, dataChecksums and the password must
     * be absent).
     */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record CreateTimeline(String timelineId, @Nullable String startLsn, @Nullable Boolean initdb,
                                 @Nullable Boolean dataChecksums, @Nullable List<Source> walSources,
                                 @Nullable String superuserPassword, @Nullable String ancestorTimelineId,
                                 @Nullable String ancestorLsn, @Nullable String pitr, @Nullable Long gcHorizonBytes) {

        /** The retention asked for at create or branch time, or null (the default). */
        @Nullable
        Retention retention() {
            return pitr == null && gcHorizonBytes == null ? null : new TimelineRetention(pitr, gcHorizonBytes)
                    .applyTo(Retention.DEFAULTS);
        }

        boolean isBranch() {
            return ancestorTimelineId != null;
        }

        /** The branch's parent and LSN (null: the parent's last record), after checking nothing else was asked. */
        Branch toBranch() {
            if (Boolean.TRUE.equals(initdb) || startLsn != null || dataChecksums != null || superuserPassword != null) {
                throw new IllegalArgumentException("a branch (ancestorTimelineId) inherits its cluster from the parent: "
                        + "initdb, startLsn, dataChecksums and superuserPassword must be absent");
            }
            return new Branch(parseTimelineId("timelineId", timelineId), parseTimelineId("ancestorTimelineId",
                    ancestorTimelineId), ancestorLsn == null ? null : parseLsn("ancestorLsn", ancestorLsn));
        }

        TimelineManager.CreateRequest toDomain(String user) {
            if (ancestorLsn != null) {
                throw new IllegalArgumentException("ancestorLsn needs ancestorTimelineId");
            }
            return new TimelineManager.CreateRequest(parseTimelineId("timelineId", timelineId),
                    startLsn == null ? null : parseLsn("startLsn", startLsn), Boolean.TRUE.equals(initdb),
                    Boolean.TRUE.equals(dataChecksums), sources(walSources, user), superuserPassword);
        }
    }

    record Branch(TimelineId child, TimelineId parent, @Nullable Lsn at) {
    }

    /**
     * {@code PUT /v1/timelines/{id}/config}, and the retention fields of a create: {@code pitr} an
     * ISO-8601 duration ({@code P7D}, {@code PT1H}, {@code PT0S}), {@code gcHorizonBytes} WAL bytes
     * below the last record always kept; an absent field keeps its value.
     */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record TimelineRetention(@Nullable String pitr, @Nullable Long gcHorizonBytes) {
        Retention applyTo(Retention current) {
            Retention r = current;
            if (pitr != null) {
                java.time.Duration d;
                try {
                    d = java.time.Duration.parse(pitr);
                } catch (java.time.format.DateTimeParseException e) {
                    throw new IllegalArgumentException("pitr '" + (pitr.length() > 64 ? pitr.substring(0, 64) + "…" : pitr)
                            + "' is not an ISO-8601 duration (e.g. P7D, PT1H)");
                }
                r = r.withPitr(d);
            }
            if (gcHorizonBytes != null) {
                r = r.withHorizonBytes(gcHorizonBytes);
            }
            return r;
        }
    }

    /** {@code POST /v1/timelines/{id}/gc}: what the pass did. */
    @Serdeable
    public record GcResult(String timelineId, String gcCutoffLsn, List<String> retainedLsns, int layersRemoved,
                           long bytesRemoved, List<String> removedLayers, List<String> imageLayersCreated) {
        static GcResult of(TimelineManager.GcResult r) {
            return new GcResult(r.id().toString(), r.cutoff().toString(), r.retained().stream().map(Lsn::toString).toList(),
                    r.removed().size(), r.bytesRemoved(), r.removed().stream().map(Object::toString).toList(),
                    r.imagesCreated().stream().map(Object::toString).toList());
        }
    }

    /** {@code DELETE /v1/timelines/{id}}: the local timeline is gone; what went from object storage. */
    @Serdeable
    public record DeletedTimeline(String timelineId, int remoteLayersDeleted, int remoteIndexesDeleted,
                                  long remoteBytesDeleted, @Nullable String remoteNote) {
        static DeletedTimeline of(TimelineManager.Deleted d) {
            return new DeletedTimeline(d.id().toString(), d.remoteLayers(), d.remoteIndexes(), d.remoteBytes(),
                    d.remoteNote().isEmpty() ? null : d.remoteNote());
        }
    }

    /** {@code GET /v1/timelines/{id}/lsn-by-timestamp}: kind is present, past, future or nodata. */
    @Serdeable
    public record LsnByTimestamp(String lsn, String kind) {
    }

    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record WalSources(List<Source> walSources) {
    }

    /** Attach a timeline from object storage; ingest resumes from these WAL sources (may be none yet). */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record AttachTimeline(@Nullable List<Source> walSources) {
    }

    /** A detached timeline: what object storage holds of it. */
    @Serdeable
    public record Detached(String timelineId, String remoteConsistentLsn) {
    }

    /** The pageserver's local layer files as a cache of object storage (docs/pageserver.md, "Layer cache"). */
    @Serdeable
    public record LayerCacheStatus(long budgetBytes, long localBytes, long downloads, long downloadedBytes,
                                   long downloadFailures, long evictions, long evictedBytes) {
        static LayerCacheStatus of(dev.strata.pageserver.layer.LayerCache c) {
            return new LayerCacheStatus(c.budgetBytes(), c.localBytes(), c.downloads(), c.downloadedBytes(),
                    c.downloadFailures(), c.evictions(), c.evictedBytes());
        }
    }

    @Serdeable
    public record Layers(int inMemory, int frozen, int delta, int image) {
    }

    @Serdeable
    public record WalReceiver(String state, List<Source> sources) {
    }

    @Serdeable
    public record TimelineStatus(String timelineId, String state, String reason, String startLsn, String lastRecordLsn,
                                 String prevRecordLsn, String diskConsistentLsn, String diskConsistentPrevRecordLsn,
                                 boolean dataChecksums, String base, @Nullable String systemId,
                                 @Nullable Integer walSegmentSize, Layers layers, WalReceiver walReceiver,
                                 @Nullable Remote remote, @Nullable String ancestorTimelineId,
                                 @Nullable String ancestorLsn, @Nullable String gcCutoffLsn, String pitr,
                                 long gcHorizonBytes, long layerBytes, @Nullable Long logicalSize,
                                 @Nullable Compaction compaction) {
        public static TimelineStatus of(Timeline t) {
            IngestPosition.Snapshot at = t.position(); // every LSN below from one moment
            Timeline.LastRecord last = new Timeline.LastRecord(at.lastRecordLsn(), at.lastRecordStart());
            Timeline.LayerCounts c = t.layerCounts();
            // Imported timelines know their cluster from initdb's pg_control (what safekeepers need).
            ControlFile control = null;
            try {
                byte[] bytes = t.store().getValue(Key.controlFile(), last.lsn(), t.redo());
                control = bytes == null ? null : ControlFile.decode(bytes);
            } catch (RuntimeException e) {
                // a WAL-only timeline, or a broken one: the status still answers
            }
            return new TimelineStatus(t.id().toString(), t.state().label(), t.reason(),
                    t.config().startLsn().toString(), last.lsn().toString(), last.prev().toString(),
                    at.diskConsistentLsn().toString(), at.diskConsistentPrevRecordLsn().toString(),
                    t.config().dataChecksums(), t.config().base().label(),
                    control == null ? null : Long.toUnsignedString(control.systemIdentifier()),
                    control == null ? null : control.walSegmentSize(),
                    new Layers(c.inMemory(), c.frozen(), c.delta(), c.image()),
                    new WalReceiver(t.walReceiverState(), t.config().walSources().stream().map(Source::of).toList()),
                    Remote.of(t), t.ancestor().map(a -> a.timelineId().toString()).orElse(null),
                    t.ancestor().map(a -> a.lsn().toString()).orElse(null),
                    t.gcCutoffLsn().isValid() ? t.gcCutoffLsn().toString() : null,
                    t.config().retention().pitr().toString(), t.config().retention().horizonBytes(),
                    t.store().layerBytes(), t.logicalSize(), Compaction.of(t));
        }
    }

    /**
     * L0 -> L1 compaction and what reads cost (docs/pageserver.md, "Compaction"): L0 and L1 delta
     * layers now, compaction passes and the L0 layers they replaced, and per page read since the
     * timeline opened the layers visited and WAL records replayed (means).
     */
    @Serdeable
    public record Compaction(int level0Layers, int level1Layers, long level0Compactions, long level0LayersCompacted,
                             long pageReads, double layersVisitedPerRead, double recordsReplayedPerRead) {
        static Compaction of(Timeline t) {
            Timeline.LayerCounts c = t.layerCounts();
            var r = t.store().readAmplification().totals();
            return new Compaction(c.level0(), c.delta() - c.level0(), t.store().level0Compactions(),
                    t.store().level0LayersCompacted(), r.reads(), r.layersPerRead(), r.recordsPerRead());
        }
    }

    /** The timeline in object storage (decision 0016); absent without remote storage. */
    @Serdeable
    public record Remote(String remoteConsistentLsn, long generation, int pendingLayers, @Nullable String lastError,
                         boolean stale, long layersUploaded, long bytesUploaded, int localLayers, int remoteOnlyLayers,
                         long layersDeleted) {
        static Remote of(Timeline t) {
            Timeline.RemoteStatus r = t.remoteStatus();
            if (r == null) {
                return null;
            }
            var where = t.store().residence();
            return new Remote(r.remoteConsistentLsn().toString(), r.generation(), r.pendingLayers(), r.lastError(),
                    r.stale(), r.layersUploaded(), r.bytesUploaded(), where.local(), where.remoteOnly(),
                    r.layersDeleted());
        }
    }

    @Serdeable
    public record Status(int timelines, int pageServicePort, List<String> broken, LayerCacheStatus layerCache) {
    }

    @Serdeable
    public record WaitResult(String lastRecordLsn) {
    }

    @Serdeable
    public record Error(String error, String message) {
    }
}
