package dev.strata.pageserver.client;

import dev.strata.pageserver.http.Dto;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import io.micronaut.core.type.Argument;
import io.micronaut.serde.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Client of the pageserver's management API (docs/pageserver.md, "Management API"): what the
 * control plane's storage steps and the local cluster call to create, branch, attach and delete
 * timelines and to ask where one stands. Every call has a timeout; failures are
 * {@link PageserverApiException}s carrying the HTTP status, the error kind and the pageserver's
 * message (status 0: no answer).
 *
 * <p>Every request carries {@code Authorization: Bearer <token>} with a {@code pageserverapi}
 * token, taken from the supplier at each call so a caller can hand out short-lived ones.
 * HTTP/1.1 only: the JDK client's default HTTP/2 would try an h2c upgrade on every plain request.
 */
public final class PageserverAdminClient {

    private static final ObjectMapper JSON = ObjectMapper.getDefault();
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);
    /** initdb and its import run inside the create call. */
    private static final Duration CREATE_TIMEOUT = Duration.ofMinutes(3);
    private static final Duration ATTACH_TIMEOUT = Duration.ofMinutes(2);

    private final URI base;
    private final Supplier<String> token;
    private final HttpClient http;

    /** A client of the pageserver API at {@code base} ({@code http://host:port}) presenting {@code token}'s tokens. */
    public PageserverAdminClient(URI base, Supplier<String> token) {
        String s = Objects.requireNonNull(base, "base is null").toString();
        this.base = URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
        this.token = Objects.requireNonNull(token, "token is null");
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    public URI base() {
        return base;
    }

    /** Every timeline the pageserver has. */
    public List<Dto.TimelineStatus> timelines() {
        return List.of(send("GET", "/v1/timelines", null, CALL_TIMEOUT, Dto.TimelineStatus[].class));
    }

    /** The timeline's status, or empty if the pageserver does not have it. */
    public Optional<Dto.TimelineStatus> timeline(TimelineId id) {
        try {
            return Optional.of(send("GET", path(id), null, CALL_TIMEOUT, Dto.TimelineStatus.class));
        } catch (PageserverApiException e) {
            if (e.status() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /**
     * Runs initdb (superuser {@code postgres} with {@code superuserPassword}, data checksums on:
     * decision 0036) and imports it as timeline {@code id}.
     */
    public Dto.TimelineStatus createFromInitdb(TimelineId id, String superuserPassword) {
        Objects.requireNonNull(superuserPassword, "superuserPassword is null");
        return send("POST", "/v1/timelines", new Dto.CreateTimeline(id.toString(), null, true, true, null,
                superuserPassword, null, null, null, null), CREATE_TIMEOUT, Dto.TimelineStatus.class);
    }

    /**
     * Makes {@code child} a branch of {@code parent} at {@code at} (null: the parent's newest WAL),
     * streaming its own WAL from {@code walSources}.
     */
    public Dto.TimelineStatus branch(TimelineId child, TimelineId parent, Lsn at, List<Dto.Source> walSources) {
        return send("POST", "/v1/timelines", new Dto.CreateTimeline(child.toString(), null, null, null,
                List.copyOf(walSources), null, parent.toString(), at == null ? null : at.toString(), null, null),
                ATTACH_TIMEOUT, Dto.TimelineStatus.class);
    }

    /** Attaches a timeline from its index in object storage; ingest resumes from {@code walSources}. */
    public Dto.TimelineStatus attach(TimelineId id, List<Dto.Source> walSources) {
        return send("POST", path(id) + "/attach", new Dto.AttachTimeline(List.copyOf(walSources)), ATTACH_TIMEOUT,
                Dto.TimelineStatus.class);
    }

    /** Where the timeline's WAL comes from. */
    public void setWalSources(TimelineId id, List<Dto.Source> walSources) {
        send("PUT", path(id) + "/wal-sources", new Dto.WalSources(List.copyOf(walSources)), CALL_TIMEOUT,
                Dto.TimelineStatus.class);
    }

    /** The LSN of the last commit at or before {@code time}, and how it was found (docs/pageserver.md, "Branches"). */
    public Dto.LsnByTimestamp lsnByTimestamp(TimelineId id, Instant time) {
        return send("GET", path(id) + "/lsn-by-timestamp?timestamp=" + URLEncoder.encode(time.toString(),
                StandardCharsets.UTF_8), null, CALL_TIMEOUT, Dto.LsnByTimestamp.class);
    }

    /** Waits until the timeline's WAL up to {@code lsn} is ingested; an error (504) after {@code timeout}. */
    public Lsn awaitLsn(TimelineId id, Lsn lsn, Duration timeout) {
        Dto.WaitResult r = send("GET", path(id) + "/wait?lsn=" + lsn + "&timeout=" + timeout.toMillis(), null,
                timeout.plusSeconds(10), Dto.WaitResult.class);
        return Lsn.parse(r.lastRecordLsn());
    }

    /** Deletes the timeline here and its history in object storage; false if there was none. */
    public boolean deleteTimeline(TimelineId id) {
        try {
            send("DELETE", path(id), null, ATTACH_TIMEOUT, null);
            return true;
        } catch (PageserverApiException e) {
            if (e.status() == 404) {
                return false;
            }
            throw e;
        }
    }

    private static String path(TimelineId id) {
        return "/v1/timelines/" + id;
    }

    private <T> T send(String method, String path, Object body, Duration timeout, Class<T> type) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(timeout)
                .header(BearerToken.HEADER, BearerToken.headerValue(token.get()));
        try {
            if (body == null) {
                b.method(method, HttpRequest.BodyPublishers.noBody());
            } else {
                b.header("Content-Type", "application/json")
                        .method(method, HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
            }
            HttpResponse<byte[]> resp = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            if (resp.statusCode() / 100 != 2) {
                throw error(method, path, resp.statusCode(), new String(resp.body(), StandardCharsets.UTF_8));
            }
            return type == null ? null : JSON.readValue(resp.body(), Argument.of(type));
        } catch (IOException e) {
            throw new PageserverApiException(0, "", "pageserver " + base + " did not answer " + method + " " + path
                    + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PageserverApiException(0, "", "interrupted calling pageserver " + base, e);
        }
    }

    private PageserverApiException error(String method, String path, int status, String body) {
        String kind = "";
        String message = body;
        try {
            Dto.Error e = JSON.readValue(body, Argument.of(Dto.Error.class));
            if (e != null && e.message() != null) {
                kind = e.error() == null ? "" : e.error();
                message = e.message();
            }
        } catch (IOException | RuntimeException notJson) {
            // not the pageserver's error shape (a proxy in between): keep the raw body
        }
        return new PageserverApiException(status, kind, "pageserver " + method + " " + path + ": HTTP " + status + " "
                + message, null);
    }

    @Override
    public String toString() {
        return "pageserver API at " + base;
    }
}
