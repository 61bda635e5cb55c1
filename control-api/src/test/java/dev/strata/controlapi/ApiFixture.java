package dev.strata.controlapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.jwk.OctetKeyPair;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.testing.ControlPlaneHarness;
import dev.strata.controlapi.http.ControlApiServer;
import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenIssuer;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.statemachines.ControlPlaneFunctions;
import dev.strata.statemachines.LocalStepFunctions;
import dev.strata.statemachines.RunOptions;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The API as a test meets it: a fresh metadata table on the class's dynalite, the real handlers on the
 * class's local ASL engine behind a {@link LocalWorkflowLauncher}, the recording compute and storage
 * seams, the server on 127.0.0.1 with its own signing key, and an HTTP client with a controlapi token.
 */
final class ApiFixture implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    static final RunOptions OPTIONS = RunOptions.defaults().withTimeout(Duration.ofSeconds(90))
            .withRetryInterval(Duration.ofMillis(10));
    static final Duration OPERATION_DEADLINE = Duration.ofSeconds(120);

    final ControlPlaneHarness h;
    final LocalWorkflowLauncher launcher;
    final ControlApi api;
    final ControlApiServer server;
    final OctetKeyPair key = AuthKeys.generate();
    final TokenIssuer issuer = new TokenIssuer(key);
    final String token = issuer.issue(Claims.service(Scope.CONTROL_API, "test", Optional.empty()));
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    ApiFixture(LocalDynamo dynamo, LocalStepFunctions engine) {
        this(dynamo, engine, null);
    }

    /** With {@code launcher} instead of the local engine's (null: the local engine's). */
    ApiFixture(LocalDynamo dynamo, LocalStepFunctions engine, WorkflowLauncher other) {
        h = ControlPlaneHarness.on(dynamo);
        launcher = engine == null ? null : new LocalWorkflowLauncher(engine, ControlPlaneFunctions.on(h.controlPlane),
                h.store, Clock.systemUTC(), OPTIONS);
        api = new ControlApi(h.store, other == null ? launcher : other, Clock.systemUTC());
        ControlApiServer s = null;
        try {
            s = ControlApiServer.start(api, new TokenVerifier(List.of(key.toPublicJWK())), "127.0.0.1", 0);
        } finally {
            if (s == null) {
                if (launcher != null) {
                    launcher.close();
                }
                h.close();
            }
        }
        server = s;
    }

    /** Whether the fixture's launcher still runs an execution. */
    boolean launcherRunning() {
        return launcher != null && launcher.running() > 0;
    }

    URI uri(String path) {
        return server.url().resolve(path);
    }

    HttpResponse<String> send(String method, String path, String body) throws IOException, InterruptedException {
        return send(method, path, body, token);
    }

    HttpResponse<String> send(String method, String path, String body, String bearer)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        if (bearer != null) {
            b.header(BearerToken.HEADER, BearerToken.headerValue(bearer));
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    JsonNode get(String path) throws IOException, InterruptedException {
        HttpResponse<String> r = send("GET", path, null);
        if (r.statusCode() != 200) {
            throw new AssertionError("GET " + path + ": " + r.statusCode() + " " + r.body());
        }
        return JSON.readTree(r.body());
    }

    /** Sends a mutation that must answer 202; returns the operation. */
    JsonNode accepted(String method, String path, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = send(method, path, body);
        if (r.statusCode() != 202) {
            throw new AssertionError(method + " " + path + ": " + r.statusCode() + " " + r.body());
        }
        return JSON.readTree(r.body());
    }

    /** Polls the operation until it is SUCCEEDED or FAILED (bounded); returns its last view. */
    JsonNode finish(String operationId) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + OPERATION_DEADLINE.toNanos();
        while (true) {
            JsonNode op = get("/v1/operations/" + operationId);
            String state = op.get("state").asText();
            if (state.equals("SUCCEEDED") || state.equals("FAILED")) {
                return op;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("operation " + operationId + " still " + state + " after " + OPERATION_DEADLINE);
            }
            Thread.sleep(50);
        }
    }

    /** A finished operation that must have SUCCEEDED. */
    JsonNode succeed(JsonNode op) throws IOException, InterruptedException {
        JsonNode done = finish(op.get("id").asText());
        if (!done.get("state").asText().equals("SUCCEEDED")) {
            throw new AssertionError("operation failed: " + done);
        }
        return done;
    }

    /** Creates a project through the API and waits for it; returns its id. */
    String project(String name) throws IOException, InterruptedException {
        JsonNode op = accepted("POST", "/v1/projects", JSON.createObjectNode().put("name", name).toString());
        succeed(op);
        return op.get("project").asText();
    }

    @Override
    public void close() {
        try {
            server.close();
        } finally {
            try {
                h.compute.faults().openAll();
                h.storage.faults().openAll();
                if (launcher != null) {
                    launcher.close();
                }
            } finally {
                h.close();
            }
        }
    }
}
