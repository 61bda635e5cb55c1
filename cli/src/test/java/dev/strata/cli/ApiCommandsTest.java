package dev.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.jwk.OctetKeyPair;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.testing.ControlPlaneHarness;
import dev.strata.controlapi.ControlApi;
import dev.strata.controlapi.LocalWorkflowLauncher;
import dev.strata.controlapi.http.ControlApiServer;
import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenIssuer;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.id.NodeId;
import dev.strata.statemachines.ControlPlaneFunctions;
import dev.strata.statemachines.LocalStepFunctions;
import dev.strata.statemachines.RunOptions;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The project, endpoint and operation commands against a running control-plane API on 127.0.0.1
 * (real HTTP), itself on dynalite and the local ASL engine with the real handlers; the compute and
 * storage seams are the recording fakes.
 */
class ApiCommandsTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static LocalDynamo dynamo;
    static LocalStepFunctions engine;
    static ControlPlaneHarness h;
    static LocalWorkflowLauncher launcher;
    static ControlApiServer server;
    static String token;
    static String url;

    @BeforeAll
    static void start() {
        dynamo = LocalDynamo.start(dir.resolve("dynamo"));
        engine = LocalStepFunctions.start();
        h = ControlPlaneHarness.on(dynamo);
        h.idleAgent(NodeId.of("agent-a"));
        launcher = new LocalWorkflowLauncher(engine, ControlPlaneFunctions.on(h.controlPlane), h.store, Clock.systemUTC(),
                RunOptions.defaults().withTimeout(Duration.ofSeconds(90)).withRetryInterval(Duration.ofMillis(10)));
        OctetKeyPair key = AuthKeys.generate();
        token = new TokenIssuer(key).issue(Claims.service(Scope.CONTROL_API, "cli", Optional.empty()));
        server = ControlApiServer.start(new ControlApi(h.store, launcher, Clock.systemUTC()),
                new TokenVerifier(List.of(key.toPublicJWK())), "127.0.0.1", 0);
        url = server.url().toString();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (h != null) {
            h.compute.faults().openAll();
            h.storage.faults().openAll();
        }
        if (launcher != null) {
            launcher.close();
        }
        if (h != null) {
            h.close();
        }
        if (engine != null) {
            engine.close();
        }
        if (dynamo != null) {
            dynamo.close();
        }
    }

    record Run(int code, String out, String err) {
    }

    static Run strata(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new ApiCommands(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), env, Clock.systemUTC()).run(args);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Run strata(String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--api";
        all[args.length + 1] = url;
        return strata(Map.of(ApiCommands.TOKEN_ENV, token, "STRATA_DATA_DIR", dir.resolve("none").toString()), all);
    }

    @Test
    void projectEndpointAndOperationCommandsFollowTheirOperations() throws Exception {
        Run create = strata("project", "create", "shop", "--id", "p-shop");
        assertThat(create.code()).as(create.err()).isZero();
        assertThat(create.out()).contains("CREATE_PROJECT: SCHEDULED").contains(": SUCCEEDED");

        Run list = strata("project", "list");
        assertThat(list.code()).isZero();
        assertThat(list.out()).startsWith("ID").contains("p-shop").contains("shop");
        JsonNode projects = JSON.readTree(strata("project", "list", "--json").out());
        assertThat(projects.findValuesAsText("id")).contains("p-shop");

        JsonNode endpoints = JSON.readTree(strata("endpoint", "list", "--project", "p-shop", "--json").out());
        assertThat(endpoints).hasSize(1);
        String endpoint = endpoints.get(0).get("id").asText();
        assertThat(strata("endpoint", "list", "--project", "p-shop").out()).contains(endpoint).contains("SUSPENDED");

        Run start = strata("endpoint", "start", endpoint);
        assertThat(start.code()).as(start.err()).isZero();
        assertThat(start.out()).contains("START_COMPUTE: SCHEDULED").contains(": SUCCEEDED");
        assertThat(strata("endpoint", "list", "--project", "p-shop").out()).contains("RUNNING");

        Run suspend = strata("endpoint", "suspend", endpoint, "--json");
        assertThat(suspend.code()).as(suspend.err()).isZero();
        JsonNode op = JSON.readTree(suspend.out());
        assertThat(op.get("kind").asText()).isEqualTo("SUSPEND_COMPUTE");
        assertThat(op.get("state").asText()).isEqualTo("SUCCEEDED");
        assertThat(suspend.err()).contains("SUSPEND_COMPUTE: SCHEDULED"); // progress on stderr with --json

        Run ops = strata("operation", "list", "--project", "p-shop");
        assertThat(ops.code()).isZero();
        assertThat(ops.out().lines().skip(1).toList()).hasSize(3);
        assertThat(ops.out()).contains("CREATE_PROJECT").contains("START_COMPUTE").contains("SUSPEND_COMPUTE");
        Run show = strata("operation", "show", op.get("id").asText());
        assertThat(show.code()).isZero();
        assertThat(show.out()).contains("state:        SUCCEEDED").contains("executionArn:");

        // --no-wait returns with the operation as scheduled
        Run noWait = strata("endpoint", "start", endpoint, "--no-wait", "--json");
        assertThat(noWait.code()).isZero();
        String started = JSON.readTree(noWait.out()).get("id").asText();
        Run waited = strata("operation", "show", started);
        assertThat(waited.out()).contains(started);
    }

    @Test
    void failuresRefusalsAndUsage() throws Exception {
        // an operation that fails: exit 1 with its error
        h.storage.faults().failNext("createTimeline", 1, () -> new IllegalStateException("disk on fire"));
        Run failed = strata("project", "create", "doomed", "--id", "p-doomed");
        assertThat(failed.code()).isEqualTo(1);
        assertThat(failed.out()).contains(": FAILED");
        assertThat(failed.err()).contains("failed").contains("disk on fire");
        assertThat(strata("operation", "list", "--project", "p-doomed").out()).contains("FAILED").contains("disk on fire");

        // the API's refusals: exit 1, its status and message
        Run missing = strata("endpoint", "start", "ep-nope");
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("404").contains("ep-nope");
        Run badId = strata("operation", "show", "NOT-AN-ID");
        assertThat(badId.code()).isEqualTo(1);
        assertThat(badId.err()).contains("400");
        Run noToken = strata(Map.of(), "project", "list", "--api", url, "--data-dir", dir.resolve("none").toString());
        assertThat(noToken.code()).isEqualTo(1);
        assertThat(noToken.err()).contains("401");

        // no API: exit 3; usage: 64
        Run noApi = strata(Map.of(), "project", "list", "--data-dir", dir.resolve("none").toString());
        assertThat(noApi.code()).isEqualTo(3);
        assertThat(noApi.err()).contains("--api");
        assertThat(strata("project").code()).isEqualTo(64);
        assertThat(strata("project", "rename", "x").code()).isEqualTo(64);
        assertThat(strata("endpoint", "list").code()).isEqualTo(64);
        assertThat(strata("operation", "show").code()).isEqualTo(64);
        assertThat(strata("endpoint", "start", "ep-x", "--timeout", "0").code()).isEqualTo(64);
        assertThat(strata("endpoint", "start", "ep-x", "--id", "p").code()).isEqualTo(64);
    }

    @Test
    void theStrataCommandFindsTheApiAndTokenInTheDataDirectory() throws Exception {
        Path data = dir.resolve("data");
        Files.createDirectories(data.resolve("auth"));
        Files.writeString(data.resolve(ApiCommands.URL_FILE), url + "\n");
        Files.writeString(data.resolve("auth").resolve(ApiCommands.TOKEN_FILE), token + "\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new StrataCli(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8))
                .run(new String[] {"project", "list", "--json", "--data-dir", data.toString()});
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        assertThat(JSON.readTree(out.toString(StandardCharsets.UTF_8)).isArray()).isTrue();
    }
}
