package dev.strata.control.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.control.BranchPointException;
import dev.strata.control.StepFailedException;
import dev.strata.control.TransientStepException;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.model.Branch;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import dev.strata.control.service.BranchSteps;
import dev.strata.control.service.StepIds;
import dev.strata.control.storage.BranchTarget;
import dev.strata.control.testing.ControlPlaneHarness;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.control.testing.Faults;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The create-branch, delete-branch and restore step handlers, each fed its JSON fixture
 * ({@code src/test/resources/events/<function>.json}) twice on real dynalite (a replay returns the same
 * result), with the recording storage seam holding the timelines and their commit history.
 */
class BranchStepHandlersTest {

    static final ProjectId PROJECT = StepHandlersTest.PROJECT;
    static final BranchId MAIN = StepHandlersTest.BRANCH;
    static final TimelineId TIMELINE = StepHandlersTest.TIMELINE;
    static final EndpointId ENDPOINT = StepHandlersTest.ENDPOINT;
    static final OperationId CREATE = OperationId.of("op-fixturebranch");
    static final OperationId DELETE = OperationId.of("op-fixturedelete");
    static final OperationId RESTORE = OperationId.of("op-fixturerestore");
    static final BranchId CHILD = BranchId.of("br-fixturechild");
    static final TimelineId CHILD_TIMELINE = TimelineId.parse("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf");
    static final Instant T0 = Instant.parse("2026-12-06T04:00:00Z");

    @TempDir
    static Path dir;
    static LocalDynamo dynamo;

    ControlPlaneHarness h;
    Map<String, StepHandler> handlers;

    @BeforeAll
    static void startDynamo() {
        dynamo = LocalDynamo.start(dir);
    }

    @AfterAll
    static void stopDynamo() {
        if (dynamo != null) {
            dynamo.close();
        }
    }

    @BeforeEach
    void harness() {
        h = ControlPlaneHarness.on(dynamo);
        handlers = StepHandlers.all(h.controlPlane);
        h.project(PROJECT);
        h.readyBranch(PROJECT, MAIN, TIMELINE);
        h.endpoint(PROJECT, MAIN, ENDPOINT);
        h.storage.createTimeline(TIMELINE, 17);
        h.storage.commit(TIMELINE, T0, Lsn.parse("0/1C00000"));
        h.storage.commit(TIMELINE, T0.plusSeconds(20), Lsn.parse("0/2000000"));
        h.storage.commit(TIMELINE, T0.plusSeconds(60), Lsn.parse("0/2100000"));
    }

    @AfterEach
    void closeHarness() {
        h.close();
    }

    Map<String, Object> call(String function, Map<String, Object> input) {
        return handlers.get(function).handleRequest(input, null);
    }

    Map<String, Object> callTwice(String function) {
        return callTwice(function, StepHandlersTest.fixture(function));
    }

    Map<String, Object> callTwice(String function, Map<String, Object> input) {
        Map<String, Object> first = call(function, input);
        assertThat(call(function, input)).as("replay of " + function).isEqualTo(first);
        return first;
    }

    static Map<String, Object> with(String function, Object... kv) {
        Map<String, Object> m = new HashMap<>(StepHandlersTest.fixture(function));
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    void schedule(OperationId op, OperationKind kind, BranchId branch, Optional<EndpointId> endpoint) {
        h.store.createOperation(Operation.schedule(op, PROJECT, kind, Optional.of(branch), endpoint, Instant.now()));
    }

    Branch branch(BranchId id) {
        return h.store.getBranch(PROJECT, id).orElseThrow();
    }

    // ---------------------------------------------------------------- create-branch

    @Test
    void createBranchStepsResolveATimeCreateTheChildAndActivateIt() {
        h.schedule(CREATE, OperationKind.CREATE_BRANCH, PROJECT);
        long parentVersion = branch(MAIN).version();
        BranchId id = StepIds.newBranch(CREATE);
        TimelineId child = StepIds.childTimeline(CREATE);

        assertThat(callTwice("strata-create-branch-record")).isEqualTo(Map.of("branchId", id.toString(),
                "timelineId", child.toString(), "parentTimelineId", TIMELINE.toString(), "lsn", "0/2000000"));
        Branch b = branch(id);
        assertThat(b.state()).isEqualTo(BranchState.CREATING);
        assertThat(b.parent()).contains(MAIN);
        assertThat(b.branchLsn()).contains(Lsn.parse("0/2000000"));
        assertThat(h.store.getBranchByName(PROJECT, "dev")).map(Branch::id).contains(id);
        assertThat(branch(MAIN).version()).as("the parent is rewritten by each run").isEqualTo(parentVersion + 2);

        assertThat(callTwice("strata-create-branch-timeline")).isEqualTo(Map.of("timelineId", child.toString()));
        assertThat(h.storage.timeline(child).orElseThrow().ancestor()).contains(TIMELINE);
        assertThat(h.storage.timeline(child).orElseThrow().branchLsn()).contains(Lsn.parse("0/2000000"));

        assertThat(callTwice("strata-activate-branch")).isEqualTo(Map.of("branchId", id.toString(), "state", "READY",
                "endpointId", StepIds.branchEndpoint(CREATE).toString()));
        assertThat(h.endpoint(StepIds.branchEndpoint(CREATE)).branch()).isEqualTo(id);
        assertThat(h.operation(CREATE).state()).isEqualTo(OperationState.SUCCEEDED);
    }

    @Test
    void aTimeOutsideTheHistoryIsAClearFailure() {
        h.schedule(CREATE, OperationKind.CREATE_BRANCH, PROJECT);
        assertThatThrownBy(() -> call("strata-create-branch-record", with("strata-create-branch-record", "target",
                Map.of("kind", "time", "value", "2026-12-06T03:59:59Z"))))
                .isInstanceOf(BranchPointException.class).hasMessageContaining("before the history of timeline " + TIMELINE)
                .hasMessageContaining("first commit is at 2026-12-06T04:00:00Z");
        assertThatThrownBy(() -> call("strata-create-branch-record", with("strata-create-branch-record", "target",
                Map.of("kind", "time", "value", java.time.Instant.now().plusSeconds(3600).toString()))))
                .isInstanceOf(BranchPointException.class).hasMessageContaining("is in the future");
        assertThatThrownBy(() -> call("strata-create-branch-record", with("strata-create-branch-record", "target",
                Map.of("kind", "lsn", "value", "0/3000000"))))
                .isInstanceOf(BranchPointException.class).hasMessageContaining("its head is 0/2100000");
        assertThatThrownBy(() -> call("strata-create-branch-record", with("strata-create-branch-record", "target",
                Map.of("kind", "yesterday"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'target'");
        assertThat(h.store.getBranch(PROJECT, StepIds.newBranch(CREATE))).isEmpty();
        assertThat(h.store.getBranchByName(PROJECT, "dev")).isEmpty();
    }

    @Test
    void createBranchCompensationDeletesTheTimelineAndTheRecord() {
        h.schedule(CREATE, OperationKind.CREATE_BRANCH, PROJECT);
        call("strata-create-branch-record", StepHandlersTest.fixture("strata-create-branch-record"));
        call("strata-create-branch-timeline", StepHandlersTest.fixture("strata-create-branch-timeline"));
        call("strata-activate-branch", StepHandlersTest.fixture("strata-activate-branch"));

        TimelineId child = StepIds.childTimeline(CREATE);
        assertThat(callTwice("strata-delete-branch-timeline")).isEqualTo(Map.of("deleted", true, "timelineId",
                child.toString()));
        assertThat(h.storage.timelines()).doesNotContain(child);
        assertThat(callTwice("strata-discard-branch")).isEqualTo(Map.of("outcome", "discarded"));
        assertThat(h.store.getBranch(PROJECT, StepIds.newBranch(CREATE))).isEmpty();
        assertThat(h.store.getBranchByName(PROJECT, "dev")).isEmpty();
        assertThat(h.store.getEndpoint(StepIds.branchEndpoint(CREATE))).isEmpty();
        // another execution's compensation leaves the operation's work alone
        assertThat(call("strata-discard-branch", with("strata-discard-branch", "executionArn", "arn:other")))
                .isEqualTo(Map.of("outcome", "not-running"));
    }

    @Test
    void aParentRestoredOrDeletedDuringTheCreationFailsIt() throws Exception {
        h.schedule(CREATE, OperationKind.CREATE_BRANCH, PROJECT);
        Faults.Gate resolving = h.storage.faults().blockNext("resolveBranchPoint");
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            Future<Map<String, Object>> create = thread.submit(() -> call("strata-create-branch-record",
                    StepHandlersTest.fixture("strata-create-branch-record")));
            assertThat(resolving.awaitArrival(Duration.ofSeconds(20))).isTrue();
            Branch main = branch(MAIN); // a restore repoints main while the point is being resolved
            h.store.updateBranch(main, main.repointed(CHILD_TIMELINE, CHILD, Lsn.parse("0/2000000")));
            resolving.open();
            assertThatThrownBy(() -> create.get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(StepFailedException.class)
                    .hasMessageContaining("'main' was restored while the branch was being created");
        } finally {
            thread.shutdownNow();
        }
        // and a parent being deleted is refused before anything is written
        OperationId second = OperationId.of("op-fixturebranch2");
        h.schedule(second, OperationKind.CREATE_BRANCH, PROJECT);
        Branch main = branch(MAIN);
        h.store.updateBranch(main, main.withState(BranchState.DELETING));
        assertThatThrownBy(() -> call("strata-create-branch-record", with("strata-create-branch-record",
                "operationId", second.toString(), "name", "dev2")))
                .isInstanceOf(StepFailedException.class).hasMessageContaining("is DELETING, not READY");
        assertThat(h.store.getBranch(PROJECT, StepIds.newBranch(second))).isEmpty();
    }

    // ---------------------------------------------------------------- delete-branch

    void seedChild() {
        h.storage.createBranchTimeline(CHILD_TIMELINE, TIMELINE, Lsn.parse("0/2000000"));
        Branch c = h.store.createBranch(Branch.child(PROJECT, CHILD, "dev", CHILD_TIMELINE, MAIN, Lsn.parse("0/2000000")));
        h.store.updateBranch(c, c.withState(BranchState.READY));
    }

    @Test
    void deleteBranchStepsDeleteTheTimelineTheRecordAndTheName() {
        seedChild();
        schedule(DELETE, OperationKind.DELETE_BRANCH, CHILD, Optional.empty());
        Map<String, Object> begun = call("strata-begin-branch-delete", StepHandlersTest.fixture("strata-begin-branch-delete"));
        assertThat(begun).isEqualTo(Map.of("phase", "none", "timelineId", CHILD_TIMELINE.toString()));
        assertThat(call("strata-begin-branch-delete", StepHandlersTest.fixture("strata-begin-branch-delete")))
                .isEqualTo(begun);
        assertThat(branch(CHILD).state()).isEqualTo(BranchState.DELETING);

        Map<String, Object> del = Map.of("operationId", DELETE.toString(), "projectId", PROJECT.toString(),
                "timelineId", CHILD_TIMELINE.toString());
        assertThat(callTwice("strata-delete-branch-timeline", del)).isEqualTo(Map.of("deleted", true, "timelineId",
                CHILD_TIMELINE.toString()));
        assertThat(h.storage.timelines()).containsExactly(TIMELINE);
        assertThat(callTwice("strata-delete-branch-record")).isEqualTo(Map.of("branchId", CHILD.toString(),
                "deleted", true));
        assertThat(h.store.getBranch(PROJECT, CHILD)).isEmpty();
        assertThat(h.store.getBranchByName(PROJECT, "dev")).isEmpty();
        assertThat(h.operation(DELETE).state()).isEqualTo(OperationState.SUCCEEDED);
    }

    @Test
    void aBranchWithChildrenIsNotDeletedAndTheMessageNamesThem() {
        seedChild();
        schedule(DELETE, OperationKind.DELETE_BRANCH, MAIN, Optional.empty());
        assertThatThrownBy(() -> call("strata-begin-branch-delete", with("strata-begin-branch-delete", "branchId",
                MAIN.toString())))
                .isInstanceOf(StepFailedException.class)
                .hasMessage("branch 'main' cannot be deleted while it has child branches: 'dev' (br-fixturechild); "
                        + "delete them first");
        assertThat(branch(MAIN).state()).isEqualTo(BranchState.READY);
    }

    @Test
    void aDeleteWaitsForAnEndpointAnotherOperationHolds() {
        seedChild();
        EndpointId ep = EndpointId.of("ep-child");
        Endpoint e = h.endpoint(PROJECT, CHILD, ep);
        h.idleAgent(NodeId.of("agent-x"));
        h.store.updateEndpoint(e, e.waking(NodeId.of("agent-x"), OperationId.of("op-someonewaking")));
        schedule(DELETE, OperationKind.DELETE_BRANCH, CHILD, Optional.of(ep));
        assertThatThrownBy(() -> call("strata-begin-branch-delete", StepHandlersTest.fixture("strata-begin-branch-delete")))
                .isInstanceOf(TransientStepException.class).hasMessageContaining("waiting for it to settle");
    }

    // ---------------------------------------------------------------- restore

    @Test
    void restoreStepsKeepTheOldTimelineAsTheBackupAndRepointTheBranch() {
        schedule(RESTORE, OperationKind.RESTORE_BRANCH, MAIN, Optional.of(ENDPOINT));
        TimelineId restored = StepIds.childTimeline(RESTORE);
        BranchId backup = StepIds.backupBranch(RESTORE);
        String backupName = BranchSteps.backupName("main", h.operation(RESTORE).createdAt());
        assertThat(backupName).matches("main_old_\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ");

        assertThat(callTwice("strata-begin-restore")).isEqualTo(Map.of("sourceTimelineId", TIMELINE.toString(),
                "lsn", "0/2000000", "timelineId", restored.toString(), "backupBranchId", backup.toString(),
                "backupName", backupName));
        assertThat(callTwice("strata-create-backup-branch")).isEqualTo(Map.of("backupBranchId", backup.toString(),
                "name", backupName, "timelineId", TIMELINE.toString()));
        assertThat(callTwice("strata-create-branch-timeline", Map.of("operationId", RESTORE.toString(), "projectId",
                PROJECT.toString(), "timelineId", restored.toString(), "parentTimelineId", TIMELINE.toString(), "lsn",
                "0/2000000"))).isEqualTo(Map.of("timelineId", restored.toString()));
        assertThat(callTwice("strata-repoint-branch")).isEqualTo(Map.of("branchId", MAIN.toString(), "timelineId",
                restored.toString(), "parentBranchId", backup.toString(), "lsn", "0/2000000"));
        assertThat(branch(backup).state()).isEqualTo(BranchState.READY);
        assertThat(branch(backup).timeline()).isEqualTo(TIMELINE);
        assertThat(branch(backup).parent()).isEmpty();
        // after the repoint BeginRestore (a recovering run) reads the point from the branch, not the history
        assertThat(call("strata-begin-restore", StepHandlersTest.fixture("strata-begin-restore")))
                .containsEntry("sourceTimelineId", TIMELINE.toString()).containsEntry("lsn", "0/2000000");
        assertThat(callTwice("strata-plan-endpoint-restart")).isEqualTo(Map.of("phase", "none"));
        // a compensation after the point of no return keeps the restore
        assertThat(callTwice("strata-discard-restore")).isEqualTo(Map.of("outcome", "kept"));
        assertThat(call("strata-delete-branch-timeline", Map.of("operationId", RESTORE.toString(), "projectId",
                PROJECT.toString(), "timelineId", restored.toString()))).containsEntry("deleted", false);
        assertThat(h.storage.timelines()).contains(restored, TIMELINE);
        assertThat(branch(MAIN).timeline()).isEqualTo(restored);
    }

    @Test
    void restoreCompensationBeforeTheRepointRemovesTheBackupAndTheNewTimeline() {
        schedule(RESTORE, OperationKind.RESTORE_BRANCH, MAIN, Optional.of(ENDPOINT));
        TimelineId restored = StepIds.childTimeline(RESTORE);
        call("strata-begin-restore", StepHandlersTest.fixture("strata-begin-restore"));
        call("strata-create-backup-branch", StepHandlersTest.fixture("strata-create-backup-branch"));
        h.storage.createBranchTimeline(restored, TIMELINE, Lsn.parse("0/2000000"));

        assertThat(callTwice("strata-delete-branch-timeline", Map.of("operationId", RESTORE.toString(), "projectId",
                PROJECT.toString(), "timelineId", restored.toString()))).containsEntry("deleted", true);
        assertThat(callTwice("strata-discard-restore")).isEqualTo(Map.of("outcome", "discarded"));
        assertThat(h.storage.timelines()).containsExactly(TIMELINE);
        assertThat(h.store.listBranches(PROJECT)).extracting(Branch::id).containsExactly(MAIN);
        assertThat(branch(MAIN).timeline()).isEqualTo(TIMELINE);
    }

    @Test
    void aRecoveringExecutionTakesOverOnlyTheDeadOne() {
        schedule(RESTORE, OperationKind.RESTORE_BRANCH, MAIN, Optional.of(ENDPOINT));
        call("strata-begin-restore", StepHandlersTest.fixture("strata-begin-restore"));
        assertThatThrownBy(() -> call("strata-begin-restore", with("strata-begin-restore", "executionArn", "arn:second")))
                .isInstanceOf(StepFailedException.class).hasMessageContaining("already running as execution");
        assertThatThrownBy(() -> call("strata-begin-restore", with("strata-begin-restore", "executionArn", "arn:second",
                "recoversExecution", "arn:not-the-one"))).isInstanceOf(StepFailedException.class);
        String first = (String) StepHandlersTest.fixture("strata-begin-restore").get("executionArn");
        call("strata-begin-restore", with("strata-begin-restore", "executionArn", "arn:second", "recoversExecution", first));
        assertThat(h.operation(RESTORE).executionArn()).contains("arn:second");
        assertThat(h.operation(RESTORE).state()).isEqualTo(OperationState.RUNNING);
    }

    @Test
    void aBranchWithChildrenIsNotRestored() {
        seedChild();
        schedule(RESTORE, OperationKind.RESTORE_BRANCH, MAIN, Optional.of(ENDPOINT));
        assertThatThrownBy(() -> call("strata-begin-restore", StepHandlersTest.fixture("strata-begin-restore")))
                .isInstanceOf(StepFailedException.class)
                .hasMessageContaining("cannot be restored while it has child branches: 'dev' (br-fixturechild)");
    }

    @Test
    void aRestoreThatWouldLeaveARunningEndpointOnTheOldTimelineIsRefused() {
        Endpoint e = h.endpoint(ENDPOINT);
        h.idleAgent(NodeId.of("agent-x"));
        Endpoint waking = h.store.updateEndpoint(e, e.waking(NodeId.of("agent-x"), OperationId.of("op-somewake")));
        h.store.updateEndpoint(waking, waking.running("127.0.0.1:55432"));
        schedule(RESTORE, OperationKind.RESTORE_BRANCH, MAIN, Optional.empty());
        assertThatThrownBy(() -> call("strata-begin-restore", StepHandlersTest.fixture("strata-begin-restore")))
                .isInstanceOf(StepFailedException.class)
                .hasMessageContaining("endpoint(s) " + ENDPOINT + " (RUNNING) that the restore does not restart");
        assertThat(h.store.listBranches(PROJECT)).extracting(Branch::id).containsExactly(MAIN);
    }

    @Test
    void branchTargetsReadTheirJsonForm() {
        for (BranchTarget t : new BranchTarget[] {new BranchTarget.Head(), new BranchTarget.AtLsn(Lsn.parse("0/16B3748")),
                new BranchTarget.AtTime(T0)}) {
            assertThat(BranchTarget.fromJson(t.toJson())).isEqualTo(t);
        }
        assertThatThrownBy(() -> BranchTarget.fromJson(Map.of("kind", "time", "value", "14:03:27")))
                .hasMessageContaining("ISO-8601");
        assertThatThrownBy(() -> BranchTarget.fromJson("head")).hasMessageContaining("kind");
    }
}
