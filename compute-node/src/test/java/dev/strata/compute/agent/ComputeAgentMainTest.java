package dev.strata.compute.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ComputeAgentMainTest {

    private static final Map<String, String> ENV = Map.of(ComputeAgentMain.PASSWORD_ENV, "pw");
    private static final List<String> BASE = List.of("--data-dir", "/tmp/x", "--auth-public-keys", "/tmp/keys.jwks",
            "--pageserver", "pageserver.strata.internal:6400", "--safekeeper", "sk-1=http://sk-1.strata.internal:7676");

    private static ComputeAgentMain.Parsed parse(List<String> extra, Map<String, String> env) {
        List<String> all = new java.util.ArrayList<>(BASE);
        all.addAll(extra);
        return ComputeAgentMain.parse(all.toArray(String[]::new), env);
    }

    @Test
    void theAwsTaskCommandLineParses() {
        ComputeAgentMain.Parsed p = parse(List.of("--listen", "0.0.0.0", "--port", "3080", "--compute-port", "5432",
                "--compute-listen", "0.0.0.0", "--advertise-host", "10.40.3.17", "--client-network", "10.40.0.0/16",
                "--safekeeper", "sk-2=http://sk-2.strata.internal:7676"), ENV);
        assertThat(p.listen()).isEqualTo("0.0.0.0");
        assertThat(p.port()).isEqualTo(3080);
        assertThat(p.config().computePort()).isEqualTo(5432);
        assertThat(p.config().pageserverHost()).isEqualTo("pageserver.strata.internal");
        assertThat(p.config().pageserverPort()).isEqualTo(6400);
        assertThat(p.config().safekeepers()).hasSize(2);
        assertThat(p.config().network().advertisedHost()).isEqualTo("10.40.3.17");
        assertThat(p.config().network().clientCidr()).isEqualTo("10.40.0.0/16");
        assertThat(p.config().toString()).doesNotContain("pw");
    }

    @Test
    void missingOrBadArgumentsSayWhatIsWrong() {
        assertThatThrownBy(() -> parse(List.of(), Map.of())).hasMessageContaining(ComputeAgentMain.PASSWORD_ENV);
        assertThatThrownBy(() -> ComputeAgentMain.parse(new String[] {"--data-dir", "/x"}, ENV))
                .hasMessageContaining("--auth-public-keys is required");
        assertThatThrownBy(() -> ComputeAgentMain.parse(BASE.subList(0, 6).toArray(String[]::new), ENV))
                .hasMessageContaining("--safekeeper");
        assertThatThrownBy(() -> parse(List.of("--safekeeper", "sk-2"), ENV)).hasMessageContaining("ID=URL");
        assertThatThrownBy(() -> parse(List.of("--safekeeper", "sk-2=ftp://x:1"), ENV)).hasMessageContaining("http(s)");
        assertThatThrownBy(() -> parse(List.of("--port", "70000"), ENV)).hasMessageContaining("not a TCP port");
        assertThatThrownBy(() -> parse(List.of("--port", "x"), ENV)).hasMessageContaining("not a number");
        assertThatThrownBy(() -> parse(List.of("--colour", "blue"), ENV)).hasMessageContaining("unknown option --colour");
        assertThatThrownBy(() -> parse(List.of("--port", "1", "--port", "2"), ENV)).hasMessageContaining("given twice");
        assertThatThrownBy(() -> parse(List.of("--compute-listen", "0.0.0.0"), ENV))
                .hasMessageContaining("needs --advertise-host");
        assertThatThrownBy(() -> parse(List.of("--client-network", "everyone"), ENV)).hasMessageContaining("IPv4 CIDR");
        assertThatThrownBy(() -> ComputeAgentMain.parse(new String[] {"--data-dir", "/x", "--auth-public-keys", "k",
                "--pageserver", "noport", "--safekeeper", "a=http://h:1"}, ENV)).hasMessageContaining("HOST:PORT");
        assertThatThrownBy(() -> parse(List.of("stray"), ENV)).hasMessageContaining("unexpected argument 'stray'");
    }

    @Test
    void metricsAreOnWithAnEnvironmentFromTheOptionOrTheTaskEnvironment() {
        assertThat(parse(List.of(), ENV).metricsInterval()).as("off by default").isNull();
        ComputeAgentMain.Parsed p = parse(List.of("--metrics-environment", "prod", "--metrics-interval", "15"), ENV);
        assertThat(p.metricsEnvironment()).isEqualTo("prod");
        assertThat(p.metricsInterval()).isEqualTo(java.time.Duration.ofSeconds(15));
        Map<String, String> task = new java.util.HashMap<>(ENV);
        task.put("STRATA_COMPUTE_METRICS_ENVIRONMENT", "test");
        ComputeAgentMain.Parsed fromTask = parse(List.of(), task);
        assertThat(fromTask.metricsEnvironment()).isEqualTo("test");
        assertThat(fromTask.metricsInterval()).isEqualTo(java.time.Duration.ofSeconds(60));
        assertThatThrownBy(() -> parse(List.of("--metrics-environment", "x", "--metrics-interval", "0"), ENV))
                .hasMessageContaining("--metrics-interval");
        assertThatThrownBy(() -> parse(List.of("--metrics-interval", "5"), ENV))
                .hasMessageContaining("needs --metrics-environment");
    }

    @Test
    void withTheMetadataTableTheAgentJoinsThePoolAtItsAdvertisedAddress() {
        Map<String, String> env = Map.of(ComputeAgentMain.PASSWORD_ENV, "pw", ComputeAgentMain.TABLE_ENV, "strata-prod-metadata");
        ComputeAgentMain.Parsed p = parse(List.of("--listen", "0.0.0.0", "--compute-listen", "0.0.0.0",
                "--advertise-host", "10.40.3.17"), env);
        assertThat(p.metadataTable()).isEqualTo("strata-prod-metadata");
        assertThat(p.agentId().toString()).isEqualTo("agent-10-40-3-17");
        assertThat(p.apiAddress(3080)).isEqualTo("10.40.3.17:3080");

        ComputeAgentMain.Parsed named = parse(List.of("--metadata-table", "other-table", "--agent-id", "agent-7"), ENV);
        assertThat(named.metadataTable()).isEqualTo("other-table");
        assertThat(named.agentId().toString()).isEqualTo("agent-7");
        assertThat(named.apiAddress(41234)).as("the API on loopback: a local agent").isEqualTo("127.0.0.1:41234");

        ComputeAgentMain.Parsed none = parse(List.of(), ENV);
        assertThat(none.metadataTable()).isNull();
        assertThat(none.agentId()).isNull();

        assertThatThrownBy(() -> parse(List.of("--agent-id", "agent-7"), ENV)).hasMessageContaining("needs --metadata-table");
        assertThatThrownBy(() -> parse(List.of("--metadata-table", "x"), ENV)).hasMessageContaining("not a DynamoDB table name");
        assertThatThrownBy(() -> parse(List.of("--metadata-table", "tbl", "--agent-id", "Bad_Id"), ENV))
                .hasMessageContaining("--agent-id");
    }

    @Test
    void anOnDemandTaskTakesItsAgentIdAndIdleExitFromTheEnvironment() {
        Map<String, String> task = new java.util.HashMap<>(Map.of(ComputeAgentMain.PASSWORD_ENV, "pw",
                ComputeAgentMain.TABLE_ENV, "strata-prod-metadata", "STRATA_COMPUTE_AGENT_ID", "burst-3f2a",
                "STRATA_COMPUTE_IDLE_EXIT_MINUTES", "15"));
        ComputeAgentMain.Parsed burst = parse(List.of(), task);
        assertThat(burst.agentId().toString()).isEqualTo("burst-3f2a");
        assertThat(burst.idleExit()).isEqualTo(java.time.Duration.ofMinutes(15));
        assertThat(ComputeAgentMain.envName("idle-exit-minutes")).isEqualTo("STRATA_COMPUTE_IDLE_EXIT_MINUTES");

        ComputeAgentMain.Parsed overridden = parse(List.of("--agent-id", "agent-9", "--idle-exit-minutes", "1440"), task);
        assertThat(overridden.agentId().toString()).as("the command line wins").isEqualTo("agent-9");
        assertThat(overridden.idleExit()).isEqualTo(java.time.Duration.ofDays(1));
        assertThat(parse(List.of("--idle-exit-minutes", "1"), task).idleExit()).isEqualTo(java.time.Duration.ofMinutes(1));

        Map<String, String> service = Map.of(ComputeAgentMain.PASSWORD_ENV, "pw", ComputeAgentMain.TABLE_ENV, "strata-prod-metadata");
        assertThat(parse(List.of(), service).idleExit()).as("a service task never leaves on its own").isNull();

        for (String bad : List.of("0", "1441", "-5", "15m", "", " 15", "99999")) {
            assertThatThrownBy(() -> parse(List.of("--idle-exit-minutes", bad), service))
                    .hasMessageContaining("--idle-exit-minutes / STRATA_COMPUTE_IDLE_EXIT_MINUTES")
                    .hasMessageContaining("1..1440");
        }
        task.put("STRATA_COMPUTE_IDLE_EXIT_MINUTES", "0");
        assertThatThrownBy(() -> parse(List.of(), task)).hasMessageContaining("STRATA_COMPUTE_IDLE_EXIT_MINUTES")
                .hasMessageContaining("got '0'");
        task.put("STRATA_COMPUTE_IDLE_EXIT_MINUTES", "15");
        task.put("STRATA_COMPUTE_AGENT_ID", "Not_An_Id");
        assertThatThrownBy(() -> parse(List.of(), task)).hasMessageContaining("--agent-id / STRATA_COMPUTE_AGENT_ID");

        assertThatThrownBy(() -> parse(List.of("--idle-exit-minutes", "15"), ENV))
                .hasMessageContaining("--idle-exit-minutes").hasMessageContaining("needs --metadata-table");
        Map<String, String> noTable = Map.of(ComputeAgentMain.PASSWORD_ENV, "pw", "STRATA_COMPUTE_IDLE_EXIT_MINUTES", "15");
        assertThatThrownBy(() -> parse(List.of(), noTable)).hasMessageContaining("needs --metadata-table");
        Map<String, String> idOnly = Map.of(ComputeAgentMain.PASSWORD_ENV, "pw", "STRATA_COMPUTE_AGENT_ID", "burst-1");
        assertThatThrownBy(() -> parse(List.of(), idOnly)).hasMessageContaining("STRATA_COMPUTE_AGENT_ID")
                .hasMessageContaining("needs --metadata-table");
    }
}
