package dev.strata.pageserver.http;

import io.micronaut.context.annotation.Requires;
import dev.strata.pageserver.timeline.Retention;
import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pageserver.timeline.TimelineState;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Put;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import dev.strata.pgcore.id.TimelineId;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;

/**
 * The pageserver management API (docs/pageserver.md). Thin: parses, delegates to the
 * {@link PageserverNode}'s timelines, leaves errors to {@link ErrorMapping}. On the blocking
 * executor: creation runs initdb, deletion and waits block.
 */
@Requires(property = "strata.service", value = "pageserver")
@Controller("/v1")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class PageserverController {

    /** Longest {@code timeout} of the wait endpoint, in milliseconds. */
    static final long MAX_WAIT_MILLIS = 600_000;

    private final PageserverNode node;

    public PageserverController(PageserverNode node) {
        this.node = node;
    }

    @Get("/status")
    public Dto.Status status() {
        List<Timeline> all = node.timelines().list();
        return new Dto.Status(all.size(), node.pageServicePort(),
                all.stream().filter(t -> t.state() == TimelineState.BROKEN).map(t -> t.id().toString()).toList(),
                Dto.LayerCacheStatus.of(node.timelines().layerCache()));
    }

    @Post("/timelines")
    public HttpResponse<Dto.TimelineStatus> create(@Body Dto.CreateTimeline body) {
        if (body == null) {
            throw new IllegalArgumentException("the request body is missing");
        }
        Timeline t;
        Retention retention = body.retention(); // bad input refused before anything is created
        if (body.isBranch()) {
            Dto.Branch b = body.toBranch();
            t = node.timelines().branch(b.child(), b.parent(), b.at(),
                    Dto.sources(body.walSources(), node.config().replicationUser()));
        } else {
            t = node.timelines().create(body.toDomain(node.config().replicationUser()));
        }
        if (retention != null) {
            t.setRetention(retention);
        }
        return HttpResponse.created(Dto.TimelineStatus.of(t));
    }

    @Get("/timelines")
    public List<Dto.TimelineStatus> list() {
        return node.timelines().list().stream().map(Dto.TimelineStatus::of).toList();
    }

    @Get("/timelines/{id}")
    public Dto.TimelineStatus get(@PathVariable String id) {
        return Dto.TimelineStatus.of(node.timelines().get(Dto.parseTimelineId("timeline id", id)));
    }

    /** Deletes the timeline here and its objects in S3; refused (409) while it has branches. */
    @Delete("/timelines/{id}")
    public Dto.DeletedTimeline delete(@PathVariable String id) {
        return Dto.DeletedTimeline.of(node.timelines().delete(Dto.parseTimelineId("timeline id", id)));
    }

    /** Runs a GC pass now (docs/pageserver.md, "GC and retention"). */
    @Post("/timelines/{id}/gc")
    public Dto.GcResult gc(@PathVariable String id) {
        TimelineId tid = Dto.parseTimelineId("timeline id", id);
        return Dto.GcResult.of(node.timelines().gc(tid, Instant.now()));
    }

    /** Replaces the retention (pitr, gcHorizonBytes); absent fields keep their values. */
    @Put("/timelines/{id}/config")
    public Dto.TimelineStatus config(@PathVariable String id, @Body Dto.TimelineRetention body) {
        Timeline t = node.timelines().get(Dto.parseTimelineId("timeline id", id));
        if (body == null) {
            throw new IllegalArgumentException("the request body is missing");
        }
        t.setRetention(body.applyTo(t.config().retention()));
        return Dto.TimelineStatus.of(t);
    }

    /**
     * Attaches a timeline this pageserver does not have from object storage: reads its newest
     * index only; layers are downloaded when reads need them (docs/pageserver.md, "Attach").
     */
    @Post("/timelines/{id}/attach")
    public HttpResponse<Dto.TimelineStatus> attach(@PathVariable String id, @Body Dto.AttachTimeline body) {
        TimelineId tid = Dto.parseTimelineId("timeline id", id);
        Timeline t = node.timelines().attach(tid, Dto.sources(body.walSources(), node.config().replicationUser()));
        return HttpResponse.created(Dto.TimelineStatus.of(t));
    }

    /** Stops the timeline, lets its final flush reach S3 (bounded), and removes its local files. */
    @Post("/timelines/{id}/detach")
    public Dto.Detached detach(@PathVariable String id) {
        TimelineId tid = Dto.parseTimelineId("timeline id", id);
        return new Dto.Detached(tid.toString(), node.timelines().detach(tid).toString());
    }

    @Put("/timelines/{id}/wal-sources")
    public Dto.TimelineStatus walSources(@PathVariable String id, @Body Dto.WalSources body) {
        Timeline t = node.timelines().get(Dto.parseTimelineId("timeline id", id));
        if (body.walSources() == null) {
            throw new IllegalArgumentException("walSources is missing");
        }
        t.setWalSources(Dto.sources(body.walSources(), node.config().replicationUser()));
        return Dto.TimelineStatus.of(t);
    }

    /**
     * The LSN at which the timeline's data is as of {@code timestamp} (ISO-8601, e.g.
     * {@code 2026-12-06T14:03:27.5Z}): docs/pageserver.md, "Branches".
     */
    @Get("/timelines/{id}/lsn-by-timestamp")
    public Dto.LsnByTimestamp lsnByTimestamp(@PathVariable String id, @QueryValue @Nullable String timestamp) {
        Timeline t = node.timelines().get(Dto.parseTimelineId("timeline id", id));
        if (timestamp == null) {
            throw new IllegalArgumentException("timestamp is missing (ISO-8601, e.g. 2026-12-06T14:03:27Z)");
        }
        Instant at;
        try {
            at = OffsetDateTime.parse(timestamp).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("timestamp '" + (timestamp.length() > 64 ? timestamp.substring(0, 64) + "…"
                    : timestamp) + "' is not an ISO-8601 date-time with an offset (e.g. 2026-12-06T14:03:27Z)");
        }
        var r = t.lsnForTimestamp(at);
        return new Dto.LsnByTimestamp(r.lsn().toString(), r.kind().name().toLowerCase(Locale.ROOT));
    }

    /** Waits until WAL up to {@code lsn} is ingested ({@code timeout} ms, default 30 000). */
    @Get("/timelines/{id}/wait")
    public Dto.WaitResult await(@PathVariable String id, @QueryValue String lsn, @QueryValue @Nullable Long timeout) {
        Timeline t = node.timelines().get(Dto.parseTimelineId("timeline id", id));
        long ms = timeout == null ? 30_000 : timeout;
        if (ms < 0 || ms > MAX_WAIT_MILLIS) {
            throw new IllegalArgumentException("timeout " + ms + " ms is outside 0.." + MAX_WAIT_MILLIS);
        }
        t.awaitLsn(Dto.parseLsn("lsn", lsn), Duration.ofMillis(ms));
        return new Dto.WaitResult(t.lastRecordLsn().toString());
    }
}
