package dev.strata.safekeeper.client;

import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.safekeeper.election.ElectedRequest;
import dev.strata.safekeeper.election.ElectedResponse;
import dev.strata.safekeeper.election.VoteResponse;
import dev.strata.safekeeper.http.Dto;
import dev.strata.safekeeper.receive.ComputeAddress;
import io.micronaut.core.type.Argument;
import io.micronaut.serde.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Client of one safekeeper's management API (docs/safekeeper.md), used by the proposer, by
 * peers (position exchange, recovery) and by tools. Every call has a timeout; failures are
 * {@link SafekeeperApiException}s carrying the HTTP status and the safekeeper's message.
 *
 * <p>Every request carries {@code Authorization: Bearer <token>}: a {@code safekeeperdata}
 * token for peers and the cli, the compute token of its timeline for a compute agent
 * (docs/safekeeper.md, "Authentication"). A refusal is a 401 or 403 {@link SafekeeperApiException}.
 */
public final class SafekeeperClient {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    // HTTP/1.1: the default HTTP/2 asks every plain request for an h2c upgrade the server never grants.
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    private static final ObjectMapper JSON = ObjectMapper.getDefault();

    private final URI base;
    private final String authorization;

    /** A client of the safekeeper at {@code base} that presents {@code token} on every call. */
    public SafekeeperClient(URI base, String token) {
        String s = base.toString();
        this.base = URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
        if (token == null || token.isBlank()) {
            throw new IllegalArgumentException("a safekeeper client needs a token: every call to the management API does");
        }
        this.authorization = BearerToken.headerValue(token);
    }

    public URI base() {
        return base;
    }

    public void createTimeline(TimelineId id, long systemId, int walSegmentSize, Lsn start) {
        send("POST", "/v1/timelines", new Dto.CreateTimeline(id.toString(), Long.toUnsignedString(systemId),
                walSegmentSize, start.toString()), Dto.Status.class);
    }

    /** Deletes the timeline and its local WAL (404 if this safekeeper has none). */
    public void deleteTimeline(TimelineId id) {
        try {
            HttpResponse<byte[]> resp = HTTP.send(request("DELETE", path(id), null).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            if (resp.statusCode() / 100 != 2) {
                throw error(resp.statusCode(), new String(resp.body(), StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new SafekeeperApiException(0, "safekeeper " + base + " unreachable: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SafekeeperApiException(0, "interrupted calling " + base, e);
        }
    }

    public Dto.Status status(TimelineId id) {
        return send("GET", path(id), null, Dto.Status.class);
    }

    public VoteResponse vote(TimelineId id, Term term) {
        return send("POST", path(id) + "/vote", new Dto.Vote(term.value()), Dto.VoteResult.class).toDomain();
    }

    public ElectedResponse elected(ElectedRequest r) {
        Dto.ElectedResult res = send("POST", path(r.timelineId()) + "/elected", Dto.Elected.of(r), Dto.ElectedResult.class);
        return new ElectedResponse(Term.of(res.term()), Lsn.parse(res.flushLsn()), res.needsRecovery());
    }

    public void streamFrom(TimelineId id, ComputeAddress c) {
        send("POST", path(id) + "/compute", new Dto.StreamFrom(c.term().value(), c.host(), c.port(), c.user(), c.password()),
                Dto.Status.class);
    }

    /** Raw WAL bytes [from, to) held by this safekeeper, for peer recovery. */
    public InputStream readWal(TimelineId id, Lsn from, Lsn to) {
        HttpRequest req = request("GET", path(id) + "/wal?from=" + from + "&to=" + to, null).timeout(Duration.ofSeconds(60)).build();
        try {
            HttpResponse<InputStream> resp = HTTP.send(req, HttpResponse.BodyHandlers.ofInputStream());
            if (resp.statusCode() / 100 != 2) {
                try (InputStream body = resp.body()) {
                    throw error(resp.statusCode(), new String(body.readAllBytes(), StandardCharsets.UTF_8));
                }
            }
            return resp.body();
        } catch (IOException e) {
            throw new SafekeeperApiException(0, "safekeeper " + base + " unreachable: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SafekeeperApiException(0, "interrupted calling " + base, e);
        }
    }

    private static String path(TimelineId id) {
        return "/v1/timelines/" + id;
    }

    private HttpRequest.Builder request(String method, String path, Object body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT)
                .header(BearerToken.HEADER, authorization);
        if (body == null) {
            return b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        try {
            return b.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private <T> T send(String method, String path, Object body, Class<T> type) {
        try {
            HttpResponse<byte[]> resp = HTTP.send(request(method, path, body).build(), HttpResponse.BodyHandlers.ofByteArray());
            if (resp.statusCode() / 100 != 2) {
                throw error(resp.statusCode(), new String(resp.body(), StandardCharsets.UTF_8));
            }
            return JSON.readValue(resp.body(), Argument.of(type));
        } catch (IOException e) {
            throw new SafekeeperApiException(0, "safekeeper " + base + " unreachable: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SafekeeperApiException(0, "interrupted calling " + base, e);
        }
    }

    private SafekeeperApiException error(int status, String body) {
        String message = body;
        try {
            Dto.Error e = JSON.readValue(body, Argument.of(Dto.Error.class));
            if (e != null && e.message() != null) {
                message = e.message();
            }
        } catch (IOException | RuntimeException ignored) {
            // not our error shape: keep the raw body
        }
        return new SafekeeperApiException(status, "safekeeper " + base + " answered " + status + ": " + message, null);
    }
}
