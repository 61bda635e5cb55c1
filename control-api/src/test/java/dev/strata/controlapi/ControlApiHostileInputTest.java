package dev.strata.controlapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.jwk.OctetKeyPair;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.model.OperationId;
import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenIssuer;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.statemachines.Workflow;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Authentication and hostile input: every refusal is a JSON {@code {"error", "message"}} with the
 * right status, nothing is scheduled by a refused request, and the server keeps serving afterwards.
 * The launcher only records (no workflow is the subject here); the metadata is real dynalite.
 */
class ControlApiHostileInputTest {

    @TempDir
    static Path dir;
    static LocalDynamo dynamo;

    final List<OperationId> launched = new CopyOnWriteArrayList<>();
    ApiFixture f;

    @BeforeAll
    static void start() {
        dynamo = LocalDynamo.start(dir);
    }

    @AfterAll
    static void stop() {
        if (dynamo != null) {
            dynamo.close();
        }
    }

    @BeforeEach
    void api() {
        f = new ApiFixture(dynamo, null, (Workflow w, OperationId op, Map<String, Object> in) -> launched.add(op));
        f.h.project(ProjectId.of("p-one"));
        f.h.readyBranch(ProjectId.of("p-one"), BranchId.of("br-main"), TimelineId.random());
        f.h.endpoint(ProjectId.of("p-one"), BranchId.of("br-main"), EndpointId.of("ep-one"));
    }

    @AfterEach
    void close() {
        f.close();
    }

    static JsonNode error(HttpResponse<String> r, int status, String code) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        JsonNode body = ApiFixture.JSON.readTree(r.body());
        assertThat(body.get("error").asText()).as(r.body()).isEqualTo(code);
        assertThat(body.get("message").asText()).isNotBlank();
        return body;
    }

    void stillServing() throws Exception {
        assertThat(f.get("/v1/projects").findValuesAsText("id")).contains("p-one");
    }

    @Test
    void everyRequestNeedsAControlApiToken() throws Exception {
        HttpResponse<String> none = f.send("GET", "/v1/projects", null, null);
        error(none, 401, "unauthorized");
        assertThat(none.headers().firstValue("WWW-Authenticate")).contains("Bearer");
        error(f.send("GET", "/v1/projects", null, "not-a-jwt"), 401, "unauthorized");
        error(f.send("POST", "/v1/projects", "{\"name\": \"x\"}", null), 401, "unauthorized");
        // an unknown path is a 401 before it is a 404
        error(f.send("GET", "/v1/nothing-here", null, null), 401, "unauthorized");
        // a valid token of another scope: 403
        String admin = f.issuer.issue(Claims.service(Scope.ADMIN, "op", Optional.empty()));
        error(f.send("GET", "/v1/projects", null, admin), 403, "forbidden");
        String agent = f.issuer.issue(Claims.service(Scope.AGENT_API, "cp", Optional.empty()));
        error(f.send("POST", "/v1/endpoints/ep-one/start", null, agent), 403, "forbidden");
        // signed by another key, or expired: 401
        OctetKeyPair other = AuthKeys.generate();
        String forged = new TokenIssuer(other).issue(Claims.service(Scope.CONTROL_API, "x", Optional.empty()));
        error(f.send("GET", "/v1/projects", null, forged), 401, "unauthorized");
        String expired = f.issuer.issue(Claims.service(Scope.CONTROL_API, "x",
                Optional.of(Instant.now().minus(Duration.ofHours(1)))));
        error(f.send("GET", "/v1/projects", null, expired), 401, "unauthorized");
        // a huge header value is refused, not parsed
        HttpResponse<String> huge = f.send("GET", "/v1/projects", null, "x".repeat(6000));
        assertThat(huge.statusCode()).isIn(400, 401, 413, 431);
        assertThat(launched).isEmpty();
        stillServing();
    }

    @Test
    void malformedBodiesAreRefusedWith400() throws Exception {
        error(f.send("POST", "/v1/projects", "{\"name\": ", f.token), 400, "bad_request");
        error(f.send("POST", "/v1/projects", "not json at all", f.token), 400, "bad_request");
        error(f.send("POST", "/v1/projects", "{\"name\": \"x\", \"owner\": \"me\"}", f.token), 400, "bad_request");
        error(f.send("POST", "/v1/projects", "{\"name\": 12, \"id\": [1]}", f.token), 400, "bad_request");
        error(f.send("POST", "/v1/projects", "{}", f.token), 400, "bad_request");
        error(f.send("POST", "/v1/projects", "{\"name\": \"x\", \"id\": \"Not A Valid Id!\"}", f.token), 400,
                "bad_request");
        error(f.send("POST", "/v1/projects", "{\"name\": \"bad\\u0000name\"}", f.token), 400, "bad_request");
        error(f.send("POST", "/v1/projects", "[".repeat(5000) + "]".repeat(5000), f.token), 400, "bad_request");
        error(f.send("POST", "/v1/projects/p-one/branches",
                "{\"name\": \"b\", \"at\": {\"kind\": \"yesterday\"}}", f.token), 400, "bad_request");
        error(f.send("POST", "/v1/projects/p-one/branches",
                "{\"name\": \"b\", \"at\": {\"kind\": \"time\", \"value\": \"noon\"}}", f.token), 400, "bad_request");
        error(f.send("POST", "/v1/projects/p-one/branches/main/restore", "{}", f.token), 400, "bad_request");
        error(f.send("POST", "/v1/projects/p-one/endpoints", "{\"branch\": \"main\", \"cpuMillis\": 1}", f.token), 400,
                "bad_request");
        assertThat(launched).isEmpty();
        stillServing();
    }

    @Test
    void badIdsUnknownThingsAndWrongMethods() throws Exception {
        error(f.send("GET", "/v1/projects/NOT_AN_ID", null), 400, "bad_request");
        error(f.send("GET", "/v1/projects/" + "a".repeat(300), null), 400, "bad_request");
        error(f.send("GET", "/v1/operations/op-", null), 400, "bad_request");
        error(f.send("GET", "/v1/operations", null), 400, "bad_request");
        error(f.send("POST", "/v1/endpoints/ep%00x/start", null), 400, "bad_request");
        error(f.send("GET", "/v1/projects/p-none", null), 404, "not_found");
        error(f.send("GET", "/v1/projects/p-none/branches", null), 404, "not_found");
        error(f.send("GET", "/v1/operations/op-none", null), 404, "not_found");
        error(f.send("POST", "/v1/endpoints/ep-none/start", null), 404, "not_found");
        error(f.send("DELETE", "/v1/projects/p-one/branches/nope", null), 404, "not_found");
        error(f.send("GET", "/v1/no/such/path", null), 404, "not_found");
        error(f.send("PUT", "/v1/projects", "{}"), 405, "method_not_allowed");
        error(f.send("DELETE", "/v1/endpoints/ep-one/start", null), 405, "method_not_allowed");
        assertThat(launched).isEmpty();
        stillServing();
    }

    @Test
    void conflictsAre409() throws Exception {
        // a suspend of a suspended endpoint, an endpoint for a branch that has one
        error(f.send("POST", "/v1/endpoints/ep-one/suspend", null), 409, "conflict");
        error(f.send("POST", "/v1/projects/p-one/endpoints", "{\"branch\": \"main\"}"), 409, "conflict");
        error(f.send("POST", "/v1/projects/p-one/branches", "{\"name\": \"main\"}"), 409, "conflict");
        error(f.send("POST", "/v1/projects", "{\"name\": \"x\", \"id\": \"p-one\"}"), 409, "conflict");
        // two starts: one operation, launched (the launcher is idempotent per operation id)
        JsonNode a = f.accepted("POST", "/v1/endpoints/ep-one/start", null);
        JsonNode b = f.accepted("POST", "/v1/endpoints/ep-one/start", null);
        assertThat(b.get("id").asText()).isEqualTo(a.get("id").asText());
        assertThat(launched).allMatch(op -> op.toString().equals(a.get("id").asText()));
        stillServing();
    }

    @Test
    void oversizedBodiesAre413AndTheServerGoesOn() throws Exception {
        String big = "{\"name\": \"" + "x".repeat(64 * 1024) + "\"}";
        error(f.send("POST", "/v1/projects", big), 413, "too_large");
        // the same without a Content-Length (chunked)
        HttpRequest chunked = HttpRequest.newBuilder(f.uri("/v1/projects")).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + f.token)
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(
                        big.getBytes(StandardCharsets.UTF_8))))
                .build();
        HttpResponse<String> r = f.http.send(chunked, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(413);
        assertThat(launched).isEmpty();
        stillServing();
    }

    @Test
    void garbageOnTheSocketDoesNotStopTheServer() throws Exception {
        for (String garbage : List.of("\u0000\u0001\u0002 not http\r\n\r\n", "GET /v1/projects HTTP/9.9\r\n\r\n",
                "POST /v1/projects HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{",
                "GET " + "/a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n")) {
            try (Socket s = new Socket("127.0.0.1", f.server.port())) {
                s.setSoTimeout(30_000);
                OutputStream out = s.getOutputStream();
                out.write(garbage.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                InputStream in = s.getInputStream();
                byte[] buf = new byte[4096];
                try {
                    in.read(buf); // an error status or a close; either is fine
                } catch (java.net.SocketException closed) {
                    // reset by the server: fine
                }
            }
        }
        stillServing();
    }

    @Test
    void theOpenApiDocumentListsEveryRoute() throws Exception {
        String doc = f.send("GET", "/v1/openapi.yml", null).body();
        assertThat(doc).startsWith("openapi:").isEqualTo(dev.strata.controlapi.http.ControlApiServer.openApiDocument());
        var router = f.server.context().getBean(io.micronaut.web.router.Router.class);
        List<String> routes = router.uriRoutes().filter(r -> !List.of("HEAD", "OPTIONS").contains(r.getHttpMethod().name()))
                .map(r -> r.getHttpMethod().name().toLowerCase() + " "
                + r.getUriMatchTemplate().toPathString()).distinct().toList();
        assertThat(routes).hasSizeGreaterThanOrEqualTo(15);
        for (String route : routes) {
            String method = route.substring(0, route.indexOf(' '));
            String path = route.substring(route.indexOf(' ') + 1);
            if (path.equals("/v1/openapi.yml")) {
                assertThat(doc).doesNotContain("/v1/openapi.yml:");
                continue;
            }
            int at = doc.indexOf("\n  " + path + ":\n");
            assertThat(at).as("path %s in the OpenAPI document", path).isPositive();
            int next = doc.indexOf("\n  /", at + 3);
            String section = doc.substring(at, next < 0 ? doc.indexOf("\ncomponents:") : next);
            assertThat(section).as("%s in the OpenAPI document", route).contains("\n    " + method + ":");
        }
        assertThat(doc).contains("bearerFormat: JWT");
    }
}
