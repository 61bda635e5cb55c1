package dev.strata.safekeeper.http;

import io.micronaut.context.annotation.Requires;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.safekeeper.election.VoteRequest;
import dev.strata.safekeeper.node.SafekeeperNode;
import dev.strata.safekeeper.timeline.Timeline;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.io.ByteArrayOutputStream;
import java.util.List;

/**
 * The safekeeper management API (docs/safekeeper.md). Thin: parses, delegates to
 * {@link SafekeeperNode}, and leaves error mapping to {@link ErrorMapping}. Handlers run on
 * the blocking executor because votes and elections fsync before they answer.
 *
 * <p>No handler checks a token: {@link AuthFilter} has let the request through only if the
 * caller's scope is in the route's row of {@link ApiAccess} (and a compute token names this
 * timeline). The elected message alone looks at the scope (see {@link #elected}).
 */
@Requires(property = "strata.service", value = "safekeeper")
@Controller("/v1")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class SafekeeperController {

    /** The most WAL one recovery request returns; the caller asks again for the rest. */
    static final int MAX_WAL_RESPONSE = 16 << 20;

    private final SafekeeperNode node;

    public SafekeeperController(SafekeeperNode node) {
        this.node = node;
    }

    @Get("/status")
    public List<Dto.Status> all() {
        return node.statuses().stream().map(Dto.Status::of).toList();
    }

    /** Position datagrams taken and dropped by this node: a forged or misconfigured peer shows here. */
    @Get("/gossip")
    public Dto.Gossip gossip() {
        return Dto.Gossip.of(node.positionGossip().orElseThrow(() -> new IllegalStateException("position gossip not started")));
    }

    @Post("/timelines")
    public HttpResponse<Dto.Status> create(@Body Dto.CreateTimeline body) {
        Timeline t = node.createTimeline(body.id(), body.system(), body.walSegmentSize(), body.start());
        return HttpResponse.created(Dto.Status.of(t.status()));
    }

    @Get("/timelines/{id}")
    public Dto.Status status(@PathVariable String id) {
        return Dto.Status.of(node.requireTimeline(TimelineId.parse(id)).status());
    }

    @Delete("/timelines/{id}")
    public HttpResponse<Void> delete(@PathVariable String id) {
        node.deleteTimeline(TimelineId.parse(id));
        return HttpResponse.status(HttpStatus.NO_CONTENT);
    }

    @Post("/timelines/{id}/vote")
    public Dto.VoteResult vote(@PathVariable String id, @Body Dto.Vote body) {
        return Dto.VoteResult.of(node.vote(new VoteRequest(TimelineId.parse(id), Dto.parseTerm("term", body.term()))));
    }

    /**
     * Only a {@code safekeeperdata} caller names the donor's URL: recovery presents this node's
     * own token there. From anyone else (a compute agent) the donor is taken by id from this
     * node's peers.
     */
    @Post("/timelines/{id}/elected")
    public Dto.ElectedResult elected(HttpRequest<?> request, @PathVariable String id, @Body Dto.Elected body) {
        var elected = body.toDomain(TimelineId.parse(id));
        boolean peer = request.getAttribute(AuthFilter.CLAIMS, Claims.class)
                .map(c -> c.scope() == Scope.SAFEKEEPER_DATA).orElse(false);
        return Dto.ElectedResult.of(peer ? node.elected(elected) : node.electedByCompute(elected));
    }

    @Post("/timelines/{id}/compute")
    public Dto.Status streamFrom(@PathVariable String id, @Body Dto.StreamFrom body) {
        TimelineId tl = TimelineId.parse(id);
        node.streamFrom(tl, body.toDomain());
        return Dto.Status.of(node.requireTimeline(tl).status());
    }

    /** Raw WAL [from, min(to, from + 16 MiB, flush)) for peer recovery. */
    @Get("/timelines/{id}/wal")
    @Produces(MediaType.APPLICATION_OCTET_STREAM)
    public byte[] wal(@PathVariable String id, @QueryValue String from, @QueryValue String to) {
        Timeline t = node.requireTimeline(TimelineId.parse(id));
        Lsn start = Dto.parseLsn("from", from);
        Lsn end = Dto.parseLsn("to", to);
        Lsn flush = t.wal().flushLsn();
        if (end.isAfter(flush)) {
            throw new IllegalArgumentException("WAL up to " + end + " requested, but this safekeeper holds WAL only up to " + flush);
        }
        if (end.isBefore(start)) {
            throw new IllegalArgumentException("empty range: from " + start + " is after to " + end);
        }
        long want = Math.min(end.minus(start), MAX_WAL_RESPONSE);
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) want);
        Lsn pos = start;
        while (out.size() < want) {
            byte[] chunk = t.wal().read(pos, (int) (want - out.size()));
            if (chunk.length == 0) {
                break;
            }
            out.writeBytes(chunk);
            pos = pos.plus(chunk.length);
        }
        return out.toByteArray();
    }
}
