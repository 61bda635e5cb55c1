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

    private final SafekeeperNode node;

    public SafekeeperController(SafekeeperNode node) {
        this.node = node;
    }

    @Get("/status")
    public List<Dto.Status> all() {
        return node.timelineList().stream().map(Dto.Status::of).toList();
    }

    /** Position datagrams taken and dropped by this node: a forged or misconfigured peer shows here. */
    @Get("/gossip")
    public Dto.Gossip gossip() {
        return Dto.Gossip.of(node.positionGossip().orElseThrow(() -> new IllegalStateException("position gossip not started")));
    }

    @Post("/timelines")
    public HttpResponse<Dto.Status> create(@Body Dto.CreateTimeline body) {
        Timeline t = node.createTimeline(body.id(), body.system(), body.walSegmentSize(), body.start());
        return HttpResponse.created(Dto.Status.of(t));
    }

    @Get("/timelines/{id}")
    public Dto.Status status(@PathVariable String id) {
        return Dto.Status.of(node.requireTimeline(TimelineId.parse(id)));
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
        return Dto.Status.of(node.requireTimeline(tl));
    }

    /**
     * Raw WAL [from, min(to, from + walReadMaxBytes, flush)) for peer recovery. Bounded twice, so
     * callers cannot make the safekeeper hold unbounded memory on the (unbounded) blocking
     * executor: each answer is at most {@code walReadMaxBytes} (4 MiB by default; the caller asks
     * again for the rest), read into one array of exactly that size, and at most
     * {@code walReadConcurrency} answers are built at once; one more is refused at once with 503
     * {@code busy} rather than queued.
     */
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
        if (!node.walReads().tryAcquire()) {
            throw new BusyException("this safekeeper is already serving " + node.limits().walReadConcurrency()
                    + " WAL reads (its limit); retry shortly");
        }
        try {
            int want = (int) Math.min(end.minus(start), node.limits().walReadMaxBytes());
            byte[] out = new byte[want];
            int got = 0;
            Lsn pos = start;
            while (got < want) {
                byte[] chunk = t.readWal(pos, want - got); // from object storage when offloaded and removed here
                if (chunk.length == 0) {
                    break;
                }
                System.arraycopy(chunk, 0, out, got, chunk.length);
                got += chunk.length;
                pos = pos.plus(chunk.length);
            }
            return got == want ? out : java.util.Arrays.copyOf(out, got);
        } finally {
            node.walReads().release();
        }
    }
}
