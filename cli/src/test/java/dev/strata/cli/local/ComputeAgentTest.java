package dev.strata.cli.local;

import dev.strata.control.storage.BranchTarget;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.compute.agent.AgentGauges;
import dev.strata.compute.agent.AgentServer;
import dev.strata.pgcore.metrics.MetricNames;
import dev.strata.pgcore.metrics.Sample;
import dev.strata.compute.agent.ComputeAgent;
import dev.strata.compute.config.ComputeNetwork;
import dev.strata.control.StepFailedException;
import dev.strata.control.compute.AgentComputeProvisioner;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.postgres.PostgresBinaries;
import dev.strata.safekeeper.election.Proposer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A compute agent of the pool, driven as the control plane drives it: the Elect step elects a
 * term on the safekeepers (with its own {@code safekeeperdata} token), then
 * {@link AgentComputeProvisioner} orders the agent, over its authenticated HTTP API, to start
 * Postgres for an endpoint under exactly that term. Everything is real: the cluster's three
 * safekeepers and pageserver, the agent's server on a loopback socket, PostgreSQL 17, JDBC.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ComputeAgentTest {

    @TempDir
    Path tmp;

    @Test
    void anAgentRunsABranchsComputeUnderTheElectedTermAndRefusesWhatItMustNot() throws Exception {
        try (LocalCluster c = LocalCluster.start(new ClusterLayout(tmp.resolve("cluster")),
                new LocalCluster.Options(0, false, Duration.ofSeconds(300)), s -> { })) {
            try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE t (v int)");
                s.execute("INSERT INTO t SELECT generate_series(1, 500)");
            }
            c.createBranch("dev", "main", BranchTarget.HEAD);
            TimelineId branchTimeline = c.branch("dev").timeline();
            List<Proposer.Member> members = c.safekeepers().stream()
                    .map(sk -> new Proposer.Member(sk.id(), sk.url())).toList();

            ComputeAgent agent = new ComputeAgent(new ComputeAgent.Config(tmp.resolve("agent"), "127.0.0.1",
                    c.pageserver().pageServicePort(), members, 0, LocalCluster.DB_USER, c.dbPassword(),
                    ComputeNetwork.LOOPBACK, Map.of(), Duration.ofSeconds(60)), PostgresBinaries.resolve());
            try (agent; AgentServer server = AgentServer.start(agent, c.auth().verifier(), "127.0.0.1", 0)) {
                String address = "127.0.0.1:" + server.port();
                AgentComputeProvisioner compute = new AgentComputeProvisioner(new AgentComputeProvisioner.AgentLauncher() {
                    @Override
                    public String launch(NodeId id) {
                        return address; // the agent this test runs
                    }

                    @Override
                    public void retire(dev.strata.control.model.ComputeAgent a) {
                        agent.close();
                    }
                }, c.auth().issuer(), Clock.systemUTC(), Duration.ofSeconds(120));
                var pooled = dev.strata.control.model.ComputeAgent.idle(NodeId.of("agent-1"), compute.launchAgent(
                        NodeId.of("agent-1"))).claimedBy(EndpointId.of("ep-dev"));
                EndpointId ep = EndpointId.of("ep-dev");

                Proposer.Result earlier = elect(c, branchTimeline, members); // a term whose compute never started
                Proposer.Result first = elect(c, branchTimeline, members);
                String pg = compute.startPostgres(pooled, ep, branchTimeline, first.term().value(), first.epochStart());
                assertThat(pg).startsWith("127.0.0.1:");
                try (Connection conn = connect(pg, c.dbPassword()); Statement s = conn.createStatement()) {
                    assertThat(count(s)).as("the branch's rows").isEqualTo(500);
                    s.execute("INSERT INTO t SELECT generate_series(501, 525)"); // acknowledged by a quorum
                    assertThat(compute.sessions(pooled, ep)).as("this JDBC session, the agent's own excluded").isEqualTo(1);
                }
                // What the agent reports to CloudWatch while it serves: running, and its commit path.
                assertThat(gauges(agent)).containsEntry(MetricNames.COMPUTE_RUNNING, 1.0)
                        .containsKeys(MetricNames.COMPUTE_FLUSH_LAG_BYTES, MetricNames.COMPUTE_COMMITS_WAITING,
                                MetricNames.COMPUTE_WRITERS_THROTTLED);

                assertThat(compute.startPostgres(pooled, ep, branchTimeline, first.term().value(), first.epochStart()))
                        .as("a retried start of the same term returns the running compute").isEqualTo(pg);
                assertThatThrownBy(() -> compute.startPostgres(pooled, EndpointId.of("ep-other"), branchTimeline,
                        first.term().value(), first.epochStart()))
                        .isInstanceOf(StepFailedException.class).hasMessageContaining("(busy)");
                assertThatThrownBy(() -> compute.startPostgres(pooled, ep, branchTimeline, earlier.term().value(),
                        earlier.epochStart()))
                        .as("an older term than the running one")
                        .isInstanceOf(StepFailedException.class).hasMessageContaining("term_refused");

                compute.stopPostgres(pooled, ep);
                compute.stopPostgres(pooled, ep); // idempotent
                assertThat(agent.status().state()).isEqualTo("idle");
                assertThat(gauges(agent)).as("idle: running 0, no commit path").isEqualTo(
                        java.util.Map.of(MetricNames.COMPUTE_RUNNING, 0.0));

                Proposer.Result second = elect(c, branchTimeline, members);
                assertThat(second.term()).isGreaterThan(first.term());
                assertThatThrownBy(() -> compute.startPostgres(pooled, ep, branchTimeline, first.term().value(), first.epochStart()))
                        .as("a superseded term is refused by the safekeepers, and nothing starts")
                        .isInstanceOf(StepFailedException.class).hasMessageContaining("term_refused");
                assertThat(agent.status().state()).isNotEqualTo("running");

                String pg2 = compute.startPostgres(pooled, ep, branchTimeline, second.term().value(), second.epochStart());
                try (Connection conn = connect(pg2, c.dbPassword()); Statement s = conn.createStatement()) {
                    assertThat(count(s)).as("every acknowledged commit of the previous term").isEqualTo(525);
                }
                try (Connection conn = ClusterClient.connect(c); Statement s = conn.createStatement()) {
                    assertThat(count(s)).as("main does not see the branch's writes").isEqualTo(500);
                }
                compute.stopPostgres(pooled, ep);
            }
        }
    }

    /** What the control plane's Elect step does: a new term, with the control plane's own token. */
    private static Proposer.Result elect(LocalCluster c, TimelineId timeline, List<Proposer.Member> members) {
        return new Proposer(timeline, members, Duration.ofSeconds(60),
                c.auth().token(Scope.SAFEKEEPER_DATA, "control-plane")).elect();
    }

    private static Connection connect(String hostPort, String password) throws Exception {
        Properties p = new Properties();
        p.setProperty("user", LocalCluster.DB_USER);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "30");
        p.setProperty("socketTimeout", "60");
        return DriverManager.getConnection("jdbc:postgresql://" + hostPort + "/postgres", p);
    }

    private static long count(Statement s) throws Exception {
        try (ResultSet r = s.executeQuery("SELECT count(*) FROM t")) {
            r.next();
            return r.getLong(1);
        }
    }

    private static java.util.Map<String, Double> gauges(dev.strata.compute.agent.ComputeAgent agent) {
        java.util.Map<String, Double> m = new java.util.HashMap<>();
        for (Sample sample : AgentGauges.read(agent)) {
            m.put(sample.name(), sample.value());
        }
        return m;
    }
}
