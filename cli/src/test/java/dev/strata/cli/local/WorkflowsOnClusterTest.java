package dev.strata.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.model.AgentState;
import dev.strata.control.model.Branch;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationState;
import dev.strata.control.service.StepIds;
import dev.strata.control.storage.BranchTarget;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.ProjectId;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control plane end to end on real parts ({@link LocalControlPlane}): the AWS deployment's own
 * workflow definitions on the local ASL engine, the real handlers over dynalite, and behind the two
 * seams the real implementations — {@code AgentComputeProvisioner} driving two compute agents over
 * their HTTP API, and the cluster's {@code ServiceStorageControl} over its three safekeepers and
 * pageserver. A project is created, its endpoint woken, written, suspended and woken again with
 * every row there; a branch made by the create-branch workflow is woken on the second agent and
 * sees the parent's rows and only its own writes, then suspended and deleted with its timeline;
 * main is restored to a past time while its endpoint runs, and the restarted endpoint has exactly
 * the rows of then.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class WorkflowsOnClusterTest {

    @TempDir
    Path tmp;

    @Test
    void aProjectIsCreatedWokenSuspendedBranchedAndRestoredByTheWorkflows() throws Exception {
        try (LocalCluster c = LocalCluster.start(new ClusterLayout(tmp.resolve("cluster")),
                new LocalCluster.Options(0, false, Duration.ofSeconds(300)), s -> { });
             LocalControlPlane cp = LocalControlPlane.start(c, tmp.resolve("control"), 2, p -> p)) {
            // create-project: records, the timeline on the pageserver and every safekeeper, the endpoint
            ProjectId project = ProjectId.of("p-e2e");
            cp.createProject(project);
            Branch main = cp.store().getBranchByName(project, "main").orElseThrow();
            assertThat(main.state()).isEqualTo(BranchState.READY);
            assertThat(c.pageserver().hasTimeline(main.timeline())).isTrue();
            assertThat(c.safekeepers()).allSatisfy(sk -> assertThat(sk.positions(main.timeline()).flush().isValid()).isTrue());
            Endpoint ep = cp.store().listEndpoints(project).getFirst();
            assertThat(ep.state()).isEqualTo(EndpointState.SUSPENDED);

            // wake, write through the quorum, suspend, wake again: every acknowledged row is there
            Endpoint running = cp.wake(project, main.id(), ep.id());
            Instant after300;
            try (Connection conn = cp.connect(running); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE t (v int)");
                s.execute("INSERT INTO t SELECT generate_series(1, 300)");
                try (ResultSet r = s.executeQuery("SELECT clock_timestamp()")) {
                    r.next();
                    after300 = r.getTimestamp(1).toInstant();
                }
                Thread.sleep(20); // the next commit's timestamp is strictly after it
            }
            cp.suspend(project, ep.id(), running.agent().orElseThrow());
            assertThat(cp.store().getEndpoint(ep.id()).orElseThrow().state()).isEqualTo(EndpointState.SUSPENDED);
            assertThat(cp.store().getAgent(running.agent().orElseThrow()).orElseThrow().state()).isEqualTo(AgentState.IDLE);

            Endpoint again = cp.wake(project, main.id(), ep.id());
            try (Connection conn = cp.connect(again); Statement s = conn.createStatement()) {
                assertThat(count(s)).isEqualTo(300);
                s.execute("INSERT INTO t SELECT generate_series(301, 320)");
            }

            // create-branch at the head, with its endpoint; woken on the other agent
            OperationId branched = cp.createBranch(project, main.id(), "dev", new BranchTarget.Head(), true);
            Branch dev = cp.store().getBranchByName(project, "dev").orElseThrow();
            assertThat(dev.parent()).contains(main.id());
            EndpointId devEndpoint = StepIds.branchEndpoint(branched);
            Endpoint devRunning = cp.wake(project, dev.id(), devEndpoint);
            assertThat(devRunning.agent()).isNotEqualTo(again.agent());
            try (Connection conn = cp.connect(devRunning); Statement s = conn.createStatement()) {
                assertThat(count(s)).as("the parent's rows at the branch point").isEqualTo(320);
                s.execute("INSERT INTO t SELECT generate_series(1, 5)");
                assertThat(count(s)).isEqualTo(325);
            }
            try (Connection conn = cp.connect(again); Statement s = conn.createStatement()) {
                assertThat(count(s)).as("the branch's writes stay on the branch").isEqualTo(320);
            }

            // delete-branch (of a suspended branch) removes its endpoint and its timeline everywhere
            cp.suspend(project, devEndpoint, devRunning.agent().orElseThrow());
            cp.deleteBranch(project, dev.id());
            assertThat(cp.store().getBranchByName(project, "dev")).isEmpty();
            assertThat(c.pageserver().hasTimeline(dev.timeline())).isFalse();
            assertThat(cp.store().getAgent(devRunning.agent().orElseThrow()).orElseThrow().state())
                    .isEqualTo(AgentState.IDLE);

            // restore main to the time after the first 300 rows, while its endpoint runs
            cp.restore(project, main.id(), ep.id(), new BranchTarget.AtTime(after300));
            Branch mainNow = cp.store().getBranch(project, main.id()).orElseThrow();
            assertThat(mainNow.timeline()).isNotEqualTo(main.timeline());
            assertThat(cp.store().listBranches(project)).extracting(Branch::timeline).contains(main.timeline());
            Endpoint restarted = cp.store().getEndpoint(ep.id()).orElseThrow();
            assertThat(restarted.state()).isEqualTo(EndpointState.RUNNING);
            try (Connection conn = cp.connect(restarted); Statement s = conn.createStatement()) {
                assertThat(count(s)).as("main as of the time after the first 300 rows").isEqualTo(300);
            }
            cp.suspend(project, ep.id(), restarted.agent().orElseThrow());
            assertThat(cp.store().listOperations(project)).extracting(Operation::state)
                    .containsOnly(OperationState.SUCCEEDED);
        }
    }

    private static long count(Statement s) throws Exception {
        try (ResultSet r = s.executeQuery("SELECT count(*) FROM t")) {
            r.next();
            return r.getLong(1);
        }
    }
}
