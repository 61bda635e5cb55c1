package dev.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.jwk.OctetKeyPair;
import dev.strata.cli.local.ClusterLayout;
import dev.strata.cli.local.LocalCluster;
import dev.strata.cli.local.LocalControlPlane;
import dev.strata.control.model.Endpoint;
import dev.strata.controlapi.ControlApi;
import dev.strata.controlapi.LocalWorkflowLauncher;
import dev.strata.controlapi.http.ControlApiServer;
import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenIssuer;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.statemachines.RunOptions;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cli's project and endpoint commands end to end on real parts: the commands talk HTTP to the
 * control-plane API on 127.0.0.1, whose launcher runs the workflows on the local ASL engine with the
 * real handlers over dynalite, driving a real compute agent and a local cluster's safekeepers and
 * pageserver ({@link LocalControlPlane}). A project is created, its endpoint started, written through
 * the quorum, suspended and started again with every row there.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ApiOnClusterTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    @Test
    void theCliCreatesStartsAndSuspendsThroughTheApiOnTheCluster() throws Exception {
        OctetKeyPair key = AuthKeys.generate();
        String token = new TokenIssuer(key).issue(Claims.service(Scope.CONTROL_API, "cli", Optional.empty()));
        try (LocalCluster c = LocalCluster.start(new ClusterLayout(tmp.resolve("cluster")),
                new LocalCluster.Options(0, false, Duration.ofSeconds(300)), s -> { });
             LocalControlPlane cp = LocalControlPlane.start(c, tmp.resolve("control"), 1, p -> p);
             LocalWorkflowLauncher launcher = new LocalWorkflowLauncher(cp.engine(), cp.functions(), cp.store(),
                     Clock.systemUTC(), RunOptions.defaults().withTimeout(Duration.ofMinutes(3))
                     .withRetryInterval(Duration.ofMillis(500)));
             ControlApiServer api = ControlApiServer.start(new ControlApi(cp.store(), launcher, Clock.systemUTC()),
                     new TokenVerifier(List.of(key.toPublicJWK())), "127.0.0.1", 0)) {
            Map<String, String> env = Map.of(ApiCommands.URL_ENV, api.url().toString(), ApiCommands.TOKEN_ENV, token,
                    "STRATA_DATA_DIR", tmp.resolve("none").toString());

            Run create = strata(env, "project", "create", "e2e", "--id", "p-api");
            assertThat(create.code()).as(create.err()).isZero();
            JsonNode endpoints = JSON.readTree(strata(env, "endpoint", "list", "--project", "p-api", "--json").out());
            String endpoint = endpoints.get(0).get("id").asText();

            Run start = strata(env, "endpoint", "start", endpoint);
            assertThat(start.code()).as(start.out() + start.err()).isZero();
            Endpoint running = cp.store().getEndpoint(EndpointId.of(endpoint)).orElseThrow();
            try (Connection conn = cp.connect(running); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE t (v int)");
                s.execute("INSERT INTO t SELECT generate_series(1, 100)");
            }
            Run suspend = strata(env, "endpoint", "suspend", endpoint);
            assertThat(suspend.code()).as(suspend.out() + suspend.err()).isZero();
            assertThat(strata(env, "endpoint", "list", "--project", "p-api").out()).contains("SUSPENDED");

            Run again = strata(env, "endpoint", "start", endpoint);
            assertThat(again.code()).as(again.out() + again.err()).isZero();
            try (Connection conn = cp.connect(cp.store().getEndpoint(EndpointId.of(endpoint)).orElseThrow());
                 Statement s = conn.createStatement(); ResultSet r = s.executeQuery("SELECT count(*) FROM t")) {
                r.next();
                assertThat(r.getLong(1)).isEqualTo(100);
            }
            JsonNode ops = JSON.readTree(strata(env, "operation", "list", "--project", "p-api", "--json").out());
            assertThat(ops.findValuesAsText("kind"))
                    .containsExactly("CREATE_PROJECT", "START_COMPUTE", "SUSPEND_COMPUTE", "START_COMPUTE");
            assertThat(ops.findValuesAsText("state")).containsOnly("SUCCEEDED");
            assertThat(strata(env, "endpoint", "suspend", endpoint).code()).isZero();
        }
    }

    static Run strata(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new ApiCommands(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), env, Clock.systemUTC()).run(args);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
