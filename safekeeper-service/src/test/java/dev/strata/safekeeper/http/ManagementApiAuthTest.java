package dev.strata.safekeeper.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenIssuer;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.testing.TestAuth;
import dev.strata.safekeeper.client.SafekeeperApiException;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.receive.ComputeAddress;
import dev.strata.safekeeper.testing.TestSafekeepers;
import io.micronaut.web.router.Router;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every endpoint of the safekeeper management API refuses a caller without a valid token (401)
 * or with a token its row in {@link ApiAccess} does not allow (403: another scope, a compute
 * token of another timeline), with a JSON error, and changes nothing: after each refused
 * request the node's state (every timeline's status as a valid caller reads it, and the
 * timelines directory) is exactly what it was. A real server on loopback, a real HTTP client.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ManagementApiAuthTest {

    private static final TestAuth AUTH = TestSafekeepers.AUTH;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Lsn START = Lsn.parse("0/1000000");
    private static final int SEG = 16 << 20;

    @TempDir
    static Path dir;
    static SafekeeperServer sk;
    static final TimelineId tl = TimelineId.random();
    /** A configured peer (sk-2) and an address nobody configured: each records who asked what. */
    static HttpServer peer;
    static HttpServer evil;
    static final List<String> peerRequests = new CopyOnWriteArrayList<>();
    static final List<String> evilRequests = new CopyOnWriteArrayList<>();

    record Call(String method, String path, String body) {
        @Override
        public String toString() {
            return method + " " + path;
        }

        String route() {
            return method + " " + path.replace(tl.toString(), "{id}").replaceAll("\\?.*", "");
        }
    }

    record Answer(int status, String body, Optional<String> wwwAuthenticate) {
    }

    @BeforeAll
    static void start() throws Exception {
        peer = recorder(peerRequests);
        evil = recorder(evilRequests);
        sk = SafekeeperServer.start(TestSafekeepers.config(NodeId.of("sk-1"), dir, "secret"));
        sk.node().setPeers(Map.of(NodeId.of("sk-2"), URI.create("http://127.0.0.1:" + peer.getAddress().getPort())));
        TestSafekeepers.client(sk.url()).createTimeline(tl, 42, SEG, START);
    }

    @AfterAll
    static void stop() {
        if (sk != null) {
            sk.close();
        }
        if (peer != null) {
            peer.stop(0);
        }
        if (evil != null) {
            evil.stop(0);
        }
    }

    /** A loopback HTTP server that notes "METHOD path Authorization" of every request and answers 500. */
    private static HttpServer recorder(List<String> log) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        s.createContext("/", exchange -> {
            log.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath() + " "
                    + exchange.getRequestHeaders().getFirst("Authorization"));
            exchange.sendResponseHeaders(500, -1);
            exchange.close();
        });
        s.start();
        return s;
    }

    private static String evilUrl() {
        return "http://127.0.0.1:" + evil.getAddress().getPort();
    }

    /** An elected message for {@code t}, term {@code term}, epoch start far beyond what sk-1 holds. */
    private static String electedBody(long term, String donor, String donorUrl) {
        return "{\"term\":" + term + ",\"termHistory\":[{\"term\":" + term + ",\"lsn\":\"0/3000000\"}],"
                + "\"epochStartLsn\":\"0/3000000\",\"donor\":\"" + donor + "\",\"donorUrl\":\"" + donorUrl + "\"}";
    }

    /** One call per route; each would change or reveal something if it ran. */
    static List<Call> everyEndpoint() {
        TimelineId fresh = TimelineId.random();
        String t = "/v1/timelines/" + tl;
        return List.of(
                new Call("GET", "/v1/status", null),
                new Call("GET", "/v1/gossip", null),
                new Call("POST", "/v1/timelines", "{\"timelineId\":\"" + fresh + "\",\"systemId\":\"42\","
                        + "\"walSegmentSize\":" + SEG + ",\"startLsn\":\"0/1000000\"}"),
                new Call("GET", t, null),
                new Call("DELETE", t, null),
                new Call("POST", t + "/vote", "{\"term\":1000}"),
                new Call("POST", t + "/elected", electedBody(1000, "sk-evil", evilUrl())),
                new Call("POST", t + "/compute", "{\"term\":1000,\"host\":\"127.0.0.1\",\"port\":9,\"user\":\"u\","
                        + "\"password\":\"p\"}"),
                new Call("GET", t + "/wal?from=0/1000000&to=0/1000000", null));
    }

    /** Every route has a rule (HEAD takes the GET row), no rule is stale, and each is called above. */
    @Test
    void everyRouteHasAnAccessRuleAndIsTestedHere() {
        Router router = sk.context().getBean(Router.class);
        Set<String> routes = new TreeSet<>();
        router.uriRoutes().forEach(r -> {
            String method = r.getHttpMethodName();
            String template = r.getUriMatchTemplate().toString();
            assertThat(ApiAccess.scopes(method, template)).as("access rule of %s %s", method, template).isNotNull();
            if (!method.equals("HEAD")) {
                routes.add(ApiAccess.key(method, template));
            }
        });
        assertThat(routes).containsExactlyInAnyOrderElementsOf(ApiAccess.RULES.keySet());
        assertThat(everyEndpoint().stream().map(Call::route)).containsExactlyInAnyOrderElementsOf(ApiAccess.RULES.keySet());
    }

    @Test
    void noTokenOrAnInvalidOneIs401AndChangesNothing() throws Exception {
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("none", null);
        bad.put("empty", "");
        bad.put("forged", BearerToken.headerValue(AUTH.stranger().token(Scope.SAFEKEEPER_DATA)));
        bad.put("forged compute", BearerToken.headerValue(AUTH.stranger().computeToken(tl)));
        bad.put("expired", BearerToken.headerValue(new TokenIssuer(AUTH.key()).issue(Claims.service(
                Scope.SAFEKEEPER_DATA, "old", Optional.of(Instant.now().minus(Duration.ofHours(1)))))));
        bad.put("garbage", BearerToken.headerValue("not.a.token"));
        bad.put("long", BearerToken.headerValue("x".repeat(6000)));
        bad.put("alg none", BearerToken.headerValue(algNone()));
        bad.put("tampered", BearerToken.headerValue(tampered(TestSafekeepers.dataToken())));
        bad.put("basic scheme", "Basic " + Base64.getEncoder().encodeToString("u:p".getBytes(StandardCharsets.UTF_8)));
        bad.put("bare token", TestSafekeepers.dataToken()); // the right token without "Bearer "
        for (Map.Entry<String, String> e : bad.entrySet()) {
            for (Call c : everyEndpoint()) {
                String before = state();
                Answer a = sendRaw(c, e.getValue());
                assertThat(a.status()).as("%s with %s token: %s", c, e.getKey(), a.body()).isEqualTo(401);
                assertJsonError(a, "unauthenticated");
                assertThat(a.wwwAuthenticate()).contains("Bearer");
                assertThat(a.body()).doesNotContain("flushLsn").doesNotContain("udpPort");
                assertThat(state()).as("%s with %s token changed the state", c, e.getKey()).isEqualTo(before);
            }
        }
        assertThat(evilRequests).as("nobody was sent to the unconfigured donor").isEmpty();
    }

    @Test
    void aHugeAuthorizationHeaderIsRefusedAndChangesNothing() throws Exception {
        for (Call c : everyEndpoint()) {
            String before = state();
            try {
                Answer a = sendRaw(c, BearerToken.headerValue("x".repeat(100_000)));
                assertThat(a.status()).as("%s with a 100 kB header: %s", c, a.body()).isIn(400, 401, 413, 431);
            } catch (IOException closed) {
                // Netty may close the connection on a header over its limit: refused as well.
            }
            assertThat(state()).as("%s with a 100 kB header changed the state", c).isEqualTo(before);
        }
    }

    @Test
    void aVoteForTheLargestTermWithoutATokenChangesNothing() throws Exception {
        String before = state();
        Answer a = sendRaw(new Call("POST", "/v1/timelines/" + tl + "/vote", "{\"term\":" + Long.MAX_VALUE + "}"), null);
        assertThat(a.status()).isEqualTo(401);
        assertThat(state()).isEqualTo(before);
        assertThat(TestSafekeepers.client(sk.url()).status(tl).promisedTerm()).isZero();
    }

    @Test
    void wrongScopesAndOtherTimelinesAre403AndChangeNothing() throws Exception {
        TimelineId other = TimelineId.random();
        Map<String, String> tokens = new LinkedHashMap<>();
        tokens.put("compute of this timeline", AUTH.computeToken(tl));
        tokens.put("compute of another timeline", AUTH.computeToken(other));
        tokens.put("admin", AUTH.token(Scope.ADMIN));
        tokens.put("pageserver", AUTH.token(Scope.PAGESERVER_API));
        int refused = 0;
        for (Map.Entry<String, String> t : tokens.entrySet()) {
            for (Call c : everyEndpoint()) {
                Set<Scope> allowed = ApiAccess.RULES.get(c.route());
                boolean mayCall = switch (t.getKey()) {
                    case "compute of this timeline" -> allowed.contains(Scope.COMPUTE);
                    case "admin" -> allowed.contains(Scope.ADMIN);
                    default -> false;
                };
                if (mayCall) {
                    continue; // what a permitted caller can do is tested below
                }
                String before = state();
                Answer a = send(c, t.getValue());
                assertThat(a.status()).as("%s with a %s token: %s", c, t.getKey(), a.body()).isEqualTo(403);
                assertJsonError(a, "forbidden");
                assertThat(state()).as("%s with a %s token changed the state", c, t.getKey()).isEqualTo(before);
                refused++;
            }
        }
        // A compute may never delete, create, read raw WAL, list every timeline, or read gossip.
        assertThat(refused).isGreaterThanOrEqualTo(5 + 9 + 6 + 9);
        assertThat(evilRequests).isEmpty();
    }

    @Test
    void theNamedForbiddenThingsStayForbidden() throws Exception {
        String compute = AUTH.computeToken(tl);
        String before = state();
        assertThat(send(new Call("DELETE", "/v1/timelines/" + tl, null), compute).status()).isEqualTo(403);
        assertThat(send(new Call("GET", "/v1/timelines/" + tl + "/wal?from=0/1000000&to=0/1000000", null), compute)
                .status()).isEqualTo(403);
        // A compute token and a path that is not a timeline id: refused, not parsed.
        assertThat(send(new Call("GET", "/v1/timelines/not-a-timeline", null), compute).status()).isEqualTo(403);
        assertThat(send(new Call("GET", "/v1/timelines/not-a-timeline", null), TestSafekeepers.dataToken()).status())
                .isEqualTo(400);
        assertThat(state()).isEqualTo(before);
        assertThat(Files.isDirectory(dir.resolve("timelines").resolve(tl.toString()))).isTrue();
    }

    /**
     * The elected message from a compute: a donor that is not a configured peer is refused (the
     * node would present its safekeeperdata token there); a configured donor is reached at the
     * URL this node has for it, not the one the message names.
     */
    @Test
    void aComputeCannotPointDonorRecoveryAnywhere() throws Exception {
        TimelineId t = TimelineId.random();
        SafekeeperClient data = TestSafekeepers.client(sk.url());
        data.createTimeline(t, 42, SEG, START);
        String compute = AUTH.computeToken(t);
        String path = "/v1/timelines/" + t;
        assertThat(send(new Call("POST", path + "/vote", "{\"term\":1}"), compute).status()).isEqualTo(200);

        Answer unknown = send(new Call("POST", path + "/elected", electedBody(1, "sk-evil", evilUrl())), compute);
        assertThat(unknown.status()).as(unknown.body()).isEqualTo(403);
        assertJsonError(unknown, "forbidden");
        assertThat(data.status(t).lastLogTerm()).as("the term was not adopted").isZero();

        Answer known = send(new Call("POST", path + "/elected", electedBody(1, "sk-2", evilUrl())), compute);
        assertThat(known.status()).as(known.body()).isEqualTo(200);
        assertThat(known.body()).contains("\"needsRecovery\":true");
        awaitNonEmpty(peerRequests);
        assertThat(peerRequests.getFirst()).startsWith("GET /v1/timelines/" + t + "/wal")
                .endsWith("Bearer " + TestSafekeepers.dataToken());
        assertThat(evilRequests).as("the URL in the message was not used").isEmpty();
    }

    /** What a compute agent needs, with the compute token of its timeline: a whole election and the announcement. */
    @Test
    void aComputeTokenRunsAnElectionOnItsTimeline() throws Exception {
        TimelineId t = TimelineId.random();
        TestSafekeepers.client(sk.url()).createTimeline(t, 42, SEG, START);
        Proposer proposer = new Proposer(t, List.of(new Proposer.Member(NodeId.of("sk-1"), sk.url())),
                Duration.ofSeconds(60), AUTH.computeToken(t));
        Proposer.Result elected = proposer.elect();
        assertThat(elected.term().value()).isEqualTo(1);
        assertThat(proposer.streamFrom(new ComputeAddress(elected.term(), "127.0.0.1", 9, "u", "p")))
                .containsExactly(NodeId.of("sk-1"));
        SafekeeperClient computeClient = new SafekeeperClient(sk.url(), AUTH.computeToken(t));
        assertThat(computeClient.status(t).promisedTerm()).isEqualTo(1);
        // The same token on another timeline, through the client the agent uses.
        assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(SafekeeperApiException.class,
                () -> computeClient.status(tl)).status()).isEqualTo(403);
        assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(SafekeeperApiException.class,
                () -> computeClient.vote(tl, dev.strata.pgcore.term.Term.of(7))).status()).isEqualTo(403);
        assertThat(TestSafekeepers.client(sk.url()).status(tl).promisedTerm()).isZero();
    }

    @Test
    void theOperatorReadsStatusesOnly() throws Exception {
        String admin = AUTH.token(Scope.ADMIN);
        assertThat(send(new Call("GET", "/v1/status", null), admin).body()).contains(tl.toString());
        assertThat(send(new Call("GET", "/v1/gossip", null), admin).body()).contains("udpPort");
        assertThat(send(new Call("GET", "/v1/timelines/" + tl, null), admin).status()).isEqualTo(200);
    }

    @Test
    void headIsRefusedLikeGet() throws Exception {
        for (String path : List.of("/v1/status", "/v1/timelines/" + tl)) {
            assertThat(sendRaw(new Call("HEAD", path, null), null).status()).isEqualTo(401);
            assertThat(send(new Call("HEAD", path, null), AUTH.token(Scope.PAGESERVER_API)).status()).isEqualTo(403);
            assertThat(send(new Call("HEAD", path, null), TestSafekeepers.dataToken()).status()).isEqualTo(200);
        }
    }

    @Test
    void unknownPathsAndBadBodiesNeedATokenFirst() throws Exception {
        assertThat(sendRaw(new Call("GET", "/v1/secret", null), null).status()).isEqualTo(401);
        assertThat(send(new Call("GET", "/v1/secret", null), AUTH.computeToken(tl)).status()).isEqualTo(403);
        assertThat(send(new Call("GET", "/v1/secret", null), TestSafekeepers.dataToken()).status()).isEqualTo(404);
        assertThat(sendRaw(new Call("PATCH", "/v1/timelines/" + tl, "{}"), null).status()).isEqualTo(401);
        assertThat(sendRaw(new Call("POST", "/v1/timelines", "{not json"), null).status()).isEqualTo(401);
        assertThat(sendRaw(new Call("GET", "/v1/timelines/not-a-timeline", null), null).status()).isEqualTo(401);
    }

    @Test
    void theRightTokenStillDoesEverything() throws Exception {
        String token = TestSafekeepers.dataToken();
        TimelineId t = TimelineId.random();
        String path = "/v1/timelines/" + t;
        assertThat(send(new Call("POST", "/v1/timelines", "{\"timelineId\":\"" + t + "\",\"systemId\":\"42\","
                + "\"walSegmentSize\":" + SEG + ",\"startLsn\":\"0/1000000\"}"), token).status()).isEqualTo(201);
        assertThat(send(new Call("GET", "/v1/gossip", null), token).status()).isEqualTo(200);
        assertThat(send(new Call("POST", path + "/vote", "{\"term\":3}"), token).body()).contains("\"granted\":true");
        assertThat(send(new Call("GET", path + "/wal?from=0/1000000&to=0/1000000", null), token).status()).isEqualTo(200);
        assertThat(send(new Call("DELETE", path, null), token).status()).isEqualTo(204);
        assertThat(send(new Call("GET", path, null), token).status()).isEqualTo(404);
    }

    // ---- helpers ---------------------------------------------------------------------------

    /** What a valid caller sees of every timeline, plus what is on disk. */
    private static String state() throws Exception {
        Answer a = send(new Call("GET", "/v1/status", null), TestSafekeepers.dataToken());
        assertThat(a.status()).isEqualTo(200);
        List<String> files = new ArrayList<>();
        try (var s = Files.list(dir.resolve("timelines"))) {
            s.forEach(p -> files.add(p.getFileName().toString()));
        }
        files.sort(null);
        return a.body() + files;
    }

    private static void awaitNonEmpty(List<String> list) throws InterruptedException {
        for (int i = 0; i < 600 && list.isEmpty(); i++) {
            Thread.sleep(50);
        }
        assertThat(list).as("a request within 30 s").isNotEmpty();
    }

    private static String algNone() {
        Base64.Encoder b = Base64.getUrlEncoder().withoutPadding();
        return b.encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b.encodeToString("{\"scope\":\"safekeeperdata\",\"sub\":\"me\"}".getBytes(StandardCharsets.UTF_8)) + ".";
    }

    /** The right header and claims with another signature. */
    private static String tampered(String token) {
        return token.substring(0, token.lastIndexOf('.') + 1) + "A".repeat(86);
    }

    private static void assertJsonError(Answer a, String error) {
        assertThat(a.body()).as("a JSON error").matches("(?s)\\{.*\"error\":\"" + error + "\".*\\}")
                .contains("\"message\":\"");
    }

    private static Answer send(Call c, String token) throws Exception {
        return sendRaw(c, BearerToken.headerValue(token));
    }

    private static Answer sendRaw(Call c, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(sk.url().resolve(c.path())).timeout(Duration.ofSeconds(20));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        if (c.body() != null) {
            b.header("Content-Type", "application/json").method(c.method(), HttpRequest.BodyPublishers.ofString(c.body()));
        } else {
            b.method(c.method(), HttpRequest.BodyPublishers.noBody());
        }
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body(), r.headers().firstValue("WWW-Authenticate"));
    }
}
