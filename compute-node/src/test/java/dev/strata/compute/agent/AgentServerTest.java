package dev.strata.compute.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.compute.config.ComputeNetwork;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.postgres.PostgresBinaries;
import dev.strata.pgcore.testing.TestAuth;
import dev.strata.safekeeper.election.Proposer;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent API as a caller meets it, over a real socket: every request is authenticated, bad and
 * hostile requests get a clear error and change nothing, and the server keeps serving. Starting a
 * real compute through the API is {@code ComputeAgentTest} in the cli module, which has a whole
 * cluster; here the safekeepers are a closed port, so a start fails the way an unreachable
 * quorum does.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AgentServerTest {

    private static final TestAuth AUTH = new TestAuth();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private ComputeAgent agent;
    private AgentServer server;

    @BeforeEach
    void start(@TempDir Path dir) throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort(); // nothing listens here once the socket is closed
        }
        ComputeAgent.Config config = new ComputeAgent.Config(dir, "127.0.0.1", closed,
                List.of(new Proposer.Member(NodeId.of("sk-1"), URI.create("http://127.0.0.1:" + closed))), 0,
                "postgres", "secret-pw", ComputeNetwork.LOOPBACK, Map.of(), Duration.ofSeconds(1));
        agent = new ComputeAgent(config, PostgresBinaries.resolve());
        server = AgentServer.start(agent, AUTH.verifier(), "127.0.0.1", 0);
    }

    @AfterEach
    void stop() {
        server.close();
        agent.close();
    }

    private HttpResponse<String> send(String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", BearerToken.headerValue(token));
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String order(TimelineId tl, long term) {
        return "{\"timelineId\":\"" + tl + "\",\"term\":" + term + ",\"startLsn\":\"0/1000000\",\"computeToken\":\""
                + AUTH.computeToken(tl) + "\"}";
    }

    @Test
    void everyRequestNeedsATokenOfTheAgentScope() throws Exception {
        String put = order(TimelineId.random(), 1);
        HttpResponse<String> none = send("PUT", "/v1/endpoints/ep-a/compute", null, put);
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
        assertThat(send("PUT", "/v1/endpoints/ep-a/compute", "not-a-jwt", put).statusCode()).isEqualTo(401);
        assertThat(send("PUT", "/v1/endpoints/ep-a/compute", AUTH.stranger().token(Scope.AGENT_API), put).statusCode())
                .as("signed by a key the agent does not trust").isEqualTo(401);
        for (Scope wrong : List.of(Scope.ADMIN, Scope.COMPUTE, Scope.SAFEKEEPER_DATA, Scope.PAGESERVER_API)) {
            String token = wrong == Scope.COMPUTE ? AUTH.computeToken(TimelineId.random()) : AUTH.token(wrong);
            HttpResponse<String> r = send("PUT", "/v1/endpoints/ep-a/compute", token, put);
            assertThat(r.statusCode()).as(wrong.name()).isEqualTo(403);
            assertThat(r.body()).contains("\"error\":\"forbidden\"");
        }
        assertThat(send("DELETE", "/v1/endpoints/ep-a/compute", AUTH.token(Scope.ADMIN), null).statusCode())
                .as("the operator reads, the control plane acts").isEqualTo(403);
        assertThat(send("GET", "/v1/status", AUTH.token(Scope.ADMIN), null).statusCode()).isEqualTo(200);
        assertThat(send("GET", "/v1/status", null, null).statusCode()).isEqualTo(401);
        assertThat(agent.status().state()).as("nothing was started by any refused request").isEqualTo("idle");
    }

    @Test
    void malformedAndHostileRequestsGetClearErrorsAndTheServerKeepsServing() throws Exception {
        String t = AUTH.token(Scope.AGENT_API);
        TimelineId tl = TimelineId.random();
        record Case(String method, String path, String body, int status, String says) {
        }
        List<Case> cases = List.of(
                new Case("PUT", "/v1/endpoints/ep-a/compute", "{not json", 400, "not JSON"),
                new Case("PUT", "/v1/endpoints/ep-a/compute", "[1,2]", 400, "JSON object"),
                new Case("PUT", "/v1/endpoints/ep-a/compute", "", 400, "JSON object"),
                new Case("PUT", "/v1/endpoints/ep-a/compute", order(tl, 1).replace("\"term\"", "\"trem\""), 400,
                        "unknown field 'trem'"),
                new Case("PUT", "/v1/endpoints/ep-a/compute", order(tl, 0), 400, "term must be at least 1"),
                new Case("PUT", "/v1/endpoints/ep-a/compute", order(tl, 1).replace("1,", "\"one\","), 400,
                        "'term' must be a positive integer"),
                new Case("PUT", "/v1/endpoints/ep-a/compute", order(tl, 1).replace(tl.toString(), "xyz"), 400, "xyz"),
                new Case("PUT", "/v1/endpoints/ep-a/compute", order(tl, 1).replace("0/1000000", "nonsense"), 400,
                        "nonsense"),
                new Case("PUT", "/v1/endpoints/ep-a/compute", "{\"timelineId\":\"" + tl + "\",\"term\":1,\"startLsn\":\"0/0\"}",
                        400, "'computeToken' is missing"),
                new Case("PUT", "/v1/endpoints/EP_BAD!/compute", order(tl, 1), 400, "endpoint id"),
                new Case("PUT", "/v1/endpoints/ep-a/compute", "{\"x\":\"" + "a".repeat(AgentApi.MAX_BODY_BYTES) + "\"}",
                        413, "larger than"),
                new Case("POST", "/v1/endpoints/ep-a/compute", order(tl, 1), 405, "only"),
                new Case("PUT", "/v1/endpoints/ep-a/sessions", null, 405, "only [GET]"),
                new Case("PUT", "/v1/status", null, 405, "only GET"),
                new Case("GET", "/v1/nothing/here", null, 404, "no such path"),
                new Case("GET", "/v1/endpoints/ep-a/sessions", null, 404, "does not run on this agent"));
        for (Case c : cases) {
            HttpResponse<String> r = send(c.method(), c.path(), t, c.body());
            assertThat(r.statusCode()).as(c.method() + " " + c.path() + " " + c.says()).isEqualTo(c.status());
            assertThat(r.body()).as(c.method() + " " + c.path()).contains(c.says());
            assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        }
        HttpResponse<String> stop = send("DELETE", "/v1/endpoints/ep-a/compute", t, null);
        assertThat(stop.statusCode()).as("stopping what does not run is a no-op").isEqualTo(200);
        assertThat(stop.body()).contains("\"stopped\":false");
        HttpResponse<String> status = send("GET", "/v1/status", t, null);
        assertThat(status.statusCode()).isEqualTo(200);
        assertThat(status.body()).contains("\"state\":\"idle\"");
    }

    @Test
    void aStartThatCannotReachTheSafekeepersIsAServiceErrorWorthARetryAndLeavesNothingRunning() throws Exception {
        String t = AUTH.token(Scope.AGENT_API);
        HttpResponse<String> r = send("PUT", "/v1/endpoints/ep-a/compute", t, order(TimelineId.random(), 3));
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).contains("\"error\":\"start_failed\"").contains("is not held by a majority");
        HttpResponse<String> status = send("GET", "/v1/status", t, null);
        assertThat(status.body()).contains("\"state\":\"failed\"").contains("start of endpoint ep-a failed");
        assertThat(send("GET", "/v1/endpoints/ep-a/sessions", t, null).statusCode()).isEqualTo(404);
    }
}
