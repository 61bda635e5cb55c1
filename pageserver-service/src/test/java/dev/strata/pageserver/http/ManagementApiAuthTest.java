package dev.strata.pageserver.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.testing.TestPageservers;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenIssuer;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.testing.TestAuth;
import io.micronaut.web.router.Router;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every endpoint of the management API refuses a caller without a valid token (401) or with a
 * token of a scope its row in {@link ApiAccess} does not list (403), with a JSON error, and
 * changes nothing: after each refused request the pageserver's state (its status as a valid
 * caller reads it, and the timelines directory) is exactly what it was.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ManagementApiAuthTest {

    private static final TestAuth AUTH = TestPageservers.AUTH;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    static Path dir;
    static PageserverServer ps;
    static TimelineId tl = TimelineId.random();

    record Call(String method, String path, String body) {
        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    record Answer(int status, String body, Optional<String> wwwAuthenticate) {
    }

    @BeforeAll
    static void start() throws Exception {
        ps = PageserverServer.start(TestPageservers.config(dir));
        Answer a = send(new Call("POST", "/v1/timelines", "{\"timelineId\":\"" + tl + "\",\"startLsn\":\"0/1000000\","
                + "\"walSources\":[{\"host\":\"127.0.0.1\",\"port\":9,\"user\":\"u\",\"password\":\"p\"}]}"),
                TestPageservers.token());
        assertThat(a.status()).as(a.body()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        if (ps != null) {
            ps.close();
        }
    }

    /** One call per route of the controller; each would change or reveal something if it ran. */
    static List<Call> everyEndpoint() {
        TimelineId fresh = TimelineId.random();
        return List.of(
                new Call("GET", "/v1/status", null),
                new Call("GET", "/v1/timelines", null),
                new Call("GET", "/v1/timelines/" + tl, null),
                new Call("POST", "/v1/timelines", "{\"timelineId\":\"" + fresh + "\",\"startLsn\":\"0/2000000\"}"),
                new Call("DELETE", "/v1/timelines/" + tl, null),
                new Call("PUT", "/v1/timelines/" + tl + "/wal-sources",
                        "{\"walSources\":[{\"host\":\"10.9.9.9\",\"port\":5432,\"user\":\"evil\",\"password\":\"x\"}]}"),
                new Call("GET", "/v1/timelines/" + tl + "/wait?lsn=0/1000000&timeout=0", null),
                new Call("GET", "/v1/timelines/" + tl + "/lsn-by-timestamp?timestamp=2026-01-01T00:00:00Z", null),
                new Call("POST", "/v1/timelines/" + tl + "/attach", "{}"),
                new Call("POST", "/v1/timelines/" + tl + "/detach", null),
                new Call("POST", "/v1/timelines/" + tl + "/gc", null),
                new Call("PUT", "/v1/timelines/" + tl + "/config", "{\"pitr\":\"PT0S\",\"gcHorizonBytes\":0}"));
    }

    /**
     * Every route has a rule (HEAD, which Micronaut adds to each GET, takes the GET row), no rule
     * is stale, and {@link #everyEndpoint} calls each rule's route.
     */
    @Test
    void everyRouteHasAnAccessRuleAndIsTestedHere() {
        Router router = ps.context().getBean(Router.class);
        Set<String> routes = new java.util.TreeSet<>();
        router.uriRoutes().forEach(r -> {
            String method = r.getHttpMethodName();
            String template = r.getUriMatchTemplate().toString();
            assertThat(ApiAccess.scopes(method, template)).as("access rule of %s %s", method, template).isNotNull();
            if (!method.equals("HEAD")) {
                routes.add(ApiAccess.key(method, template));
            }
        });
        assertThat(routes).containsExactlyInAnyOrderElementsOf(ApiAccess.RULES.keySet());
        assertThat(everyEndpoint().stream().map(c -> c.method() + " " + c.path().replace(tl.toString(), "{id}")
                .replaceAll("\\?.*", ""))).containsExactlyInAnyOrderElementsOf(ApiAccess.RULES.keySet());
    }

    @Test
    void headIsRefusedLikeGet() throws Exception {
        for (String path : List.of("/v1/status", "/v1/timelines/" + tl)) {
            assertThat(sendRaw(new Call("HEAD", path, null), null).status()).isEqualTo(401);
            assertThat(send(new Call("HEAD", path, null), AUTH.token(Scope.SAFEKEEPER_DATA)).status()).isEqualTo(403);
            assertThat(send(new Call("HEAD", path, null), TestPageservers.token()).status()).isEqualTo(200);
        }
    }

    @Test
    void noTokenOrAnInvalidOneIs401AndChangesNothing() throws Exception {
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("none", null);
        bad.put("empty", "");
        bad.put("forged", BearerToken.headerValue(AUTH.stranger().token(Scope.PAGESERVER_API)));
        bad.put("expired", BearerToken.headerValue(new TokenIssuer(AUTH.key()).issue(Claims.service(
                Scope.PAGESERVER_API, "old", Optional.of(Instant.now().minus(Duration.ofHours(1)))))));
        bad.put("garbage", BearerToken.headerValue("not.a.token"));
        bad.put("huge", BearerToken.headerValue("x".repeat(6000)));
        bad.put("alg none", BearerToken.headerValue(algNone()));
        bad.put("tampered", BearerToken.headerValue(tampered(TestPageservers.token())));
        bad.put("basic scheme", "Basic " + Base64.getEncoder().encodeToString("u:p".getBytes(StandardCharsets.UTF_8)));
        bad.put("bare token", TestPageservers.token()); // the right token without "Bearer "
        for (Map.Entry<String, String> e : bad.entrySet()) {
            for (Call c : everyEndpoint()) {
                String before = state();
                Answer a = sendRaw(c, e.getValue());
                assertThat(a.status()).as("%s with %s token: %s", c, e.getKey(), a.body()).isEqualTo(401);
                assertJsonError(a, "");
                assertThat(a.wwwAuthenticate()).contains("Bearer");
                assertThat(a.body()).doesNotContain("lastRecordLsn").doesNotContain("pageServicePort");
                assertThat(state()).as("%s with %s token changed the state", c, e.getKey()).isEqualTo(before);
            }
        }
    }

    @Test
    void wrongScopesAre403AndChangeNothing() throws Exception {
        Map<String, String> tokens = Map.of(
                "compute of this timeline", AUTH.computeToken(tl),
                "safekeeper", AUTH.token(Scope.SAFEKEEPER_DATA),
                "admin", AUTH.token(Scope.ADMIN));
        for (Map.Entry<String, String> t : tokens.entrySet()) {
            for (Call c : everyEndpoint()) {
                String route = c.method() + " " + c.path().replace(tl.toString(), "{id}").replaceAll("\\?.*", "");
                Set<Scope> allowed = ApiAccess.RULES.getOrDefault(route, Set.of());
                if (t.getKey().equals("admin") && allowed.contains(Scope.ADMIN)) {
                    continue; // tested below
                }
                String before = state();
                Answer a = send(c, t.getValue());
                assertThat(a.status()).as("%s with a %s token: %s", c, t.getKey(), a.body()).isEqualTo(403);
                assertJsonError(a, "wrong_scope");
                assertThat(state()).as("%s with a %s token changed the state", c, t.getKey()).isEqualTo(before);
            }
        }
    }

    @Test
    void theOperatorReadsStatusesOnly() throws Exception {
        String admin = AUTH.token(Scope.ADMIN);
        assertThat(send(new Call("GET", "/v1/status", null), admin).body()).contains("\"timelines\":1");
        assertThat(send(new Call("GET", "/v1/timelines", null), admin).body()).contains(tl.toString());
        assertThat(send(new Call("GET", "/v1/timelines/" + tl, null), admin).status()).isEqualTo(200);
    }

    @Test
    void unknownPathsNeedATokenToo() throws Exception {
        Answer a = sendRaw(new Call("GET", "/v1/secret", null), null);
        assertThat(a.status()).isEqualTo(401);
        assertThat(send(new Call("GET", "/v1/secret", null), TestPageservers.token()).status()).isEqualTo(404);
        assertThat(sendRaw(new Call("PATCH", "/v1/timelines/" + tl, "{}"), null).status()).isEqualTo(401);
    }

    /** Authentication comes before the body is looked at: a stranger learns nothing from a 400. */
    @Test
    void malformedBodiesWithoutATokenAre401NotParsed() throws Exception {
        assertThat(sendRaw(new Call("POST", "/v1/timelines", "{not json"), null).status()).isEqualTo(401);
        assertThat(sendRaw(new Call("GET", "/v1/timelines/not-a-timeline", null), null).status()).isEqualTo(401);
    }

    @Test
    void theRightTokenStillDoesEverything() throws Exception {
        String token = TestPageservers.token();
        TimelineId t = TimelineId.random();
        assertThat(send(new Call("POST", "/v1/timelines", "{\"timelineId\":\"" + t + "\",\"startLsn\":\"0/3000000\"}"),
                token).status()).isEqualTo(201);
        assertThat(send(new Call("PUT", "/v1/timelines/" + t + "/wal-sources", "{\"walSources\":[]}"), token).status())
                .isEqualTo(200);
        assertThat(send(new Call("GET", "/v1/timelines/" + t + "/wait?lsn=0/3000000&timeout=0", null), token).status())
                .isEqualTo(200);
        Answer config = send(new Call("PUT", "/v1/timelines/" + t + "/config", "{\"pitr\":\"PT1H\"}"), token);
        assertThat(config.status()).isEqualTo(200);
        assertThat(config.body()).contains("\"pitr\":\"PT1H\"").contains("\"gcHorizonBytes\":67108864");
        Answer gc = send(new Call("POST", "/v1/timelines/" + t + "/gc", null), token);
        assertThat(gc.status()).isEqualTo(200);
        assertThat(gc.body()).contains("\"gcCutoffLsn\":\"0/3000000\"").contains("\"layersRemoved\":0");
        Answer deleted = send(new Call("DELETE", "/v1/timelines/" + t, null), token);
        assertThat(deleted.status()).isEqualTo(200);
        assertThat(deleted.body()).contains("\"timelineId\":\"" + t + "\"");
        assertThat(send(new Call("GET", "/v1/timelines/" + t, null), token).status()).isEqualTo(404);
    }

    // ---- helpers ---------------------------------------------------------------------------

    /** What a valid caller sees, plus what is on disk: any change a refused request made shows here. */
    private static String state() throws Exception {
        Answer a = send(new Call("GET", "/v1/timelines", null), TestPageservers.token());
        assertThat(a.status()).isEqualTo(200);
        List<String> files = new ArrayList<>();
        try (var s = java.nio.file.Files.list(dir.resolve("timelines"))) {
            s.forEach(p -> files.add(p.getFileName().toString()));
        }
        files.sort(null);
        // lastRecordLsn and the layer counts do not move: the timeline's WAL source is a closed port
        return a.body().replaceAll("\"walReceiver\":\\{\"state\":\"[^\"]*\"", "\"walReceiver\":{") + files;
    }

    private static String algNone() {
        Base64.Encoder b = Base64.getUrlEncoder().withoutPadding();
        return b.encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b.encodeToString("{\"scope\":\"pageserverapi\",\"sub\":\"me\"}".getBytes(StandardCharsets.UTF_8)) + ".";
    }

    /** The right header and claims with another signature. */
    private static String tampered(String token) {
        return token.substring(0, token.lastIndexOf('.') + 1) + "A".repeat(86);
    }

    private static void assertJsonError(Answer a, String error) {
        assertThat(a.body()).as("a JSON error").matches("(?s)\\{.*\"error\":\"[a-z_]+\".*\\}").contains("\"message\":\"")
                .contains(error);
    }

    private static Answer send(Call c, String token) throws Exception {
        return sendRaw(c, BearerToken.headerValue(token));
    }

    private static Answer sendRaw(Call c, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(ps.url().resolve(c.path())).timeout(Duration.ofSeconds(20));
        if (authorization != null) {
            b.header(BearerToken.HEADER, authorization);
        }
        b = c.body() == null ? b.method(c.method(), HttpRequest.BodyPublishers.noBody())
                : b.header("Content-Type", "application/json").method(c.method(), HttpRequest.BodyPublishers.ofString(c.body()));
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body(), r.headers().firstValue("WWW-Authenticate"));
    }
}
