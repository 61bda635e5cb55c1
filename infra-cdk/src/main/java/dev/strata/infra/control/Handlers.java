package dev.strata.infra.control;

import java.util.List;
import java.util.Optional;

/**
 * The control plane's Lambda handlers as this app deploys them: the function name the state
 * machines call ({@code strata-<step>}, docs/control-plane.md "Steps") and the Java handler class
 * in {@code functions/}.
 *
 * <p>The class names follow the handlers on the {@code cp-handlers} branch (written concurrently):
 * {@code dev.strata.control.handlers.<Step>Handler}, each a
 * {@code com.amazonaws.services.lambda.runtime.RequestHandler}. When a handler lands under another
 * name, change it here; {@code FunctionsAndWorkflowsTest} checks the list against the state machines' task
 * ARNs, so no state can call a function this app does not create.
 *
 * @param step               the step name; the function is {@code strata-<step>}
 * @param simpleClassName    the handler class in {@link #PACKAGE}
 * @param timeoutSeconds     the function timeout: the Task state's {@code TimeoutSeconds}
 * @param callsStorage       mints tokens for safekeepers, pageservers or agents (reads the signing key)
 * @param readsComputes      connects to computes as the control plane's role (reads its password)
 */
public record Handlers(String step, String simpleClassName, int timeoutSeconds, boolean callsStorage,
        boolean readsComputes) {

    /** The package of the handler classes. */
    public static final String PACKAGE = "dev.strata.control.handlers";

    /** Every handler, one per function. */
    public static final List<Handlers> ALL = List.of(
            new Handlers("claim-agent", "ClaimAgentHandler", 10, false, false),
            new Handlers("elect", "ElectHandler", 20, true, false),
            new Handlers("start-postgres", "StartPostgresHandler", 60, true, false),
            new Handlers("mark-endpoint-running", "MarkEndpointRunningHandler", 10, false, false),
            new Handlers("release-agent", "ReleaseAgentHandler", 60, true, false),
            new Handlers("mark-endpoint-suspended", "MarkEndpointSuspendedHandler", 10, false, false),
            new Handlers("record-operation-failure", "RecordOperationFailureHandler", 10, false, false),
            new Handlers("check-activity", "CheckActivityHandler", 10, true, true),
            new Handlers("complete-operation", "CompleteOperationHandler", 10, false, false),
            new Handlers("mark-endpoint-suspending", "MarkEndpointSuspendingHandler", 10, false, false),
            new Handlers("stop-postgres", "StopPostgresHandler", 60, true, false),
            new Handlers("mark-endpoint-failed", "MarkEndpointFailedHandler", 10, false, false),
            new Handlers("create-project-record", "CreateProjectRecordHandler", 10, false, false),
            new Handlers("create-timeline", "CreateTimelineHandler", 120, true, false),
            new Handlers("create-endpoint", "CreateEndpointHandler", 10, false, false),
            new Handlers("activate-project", "ActivateProjectHandler", 10, false, false),
            new Handlers("delete-timeline", "DeleteTimelineHandler", 120, true, false),
            new Handlers("mark-project-failed", "MarkProjectFailedHandler", 10, false, false),
            // branches and restore (docs/control-plane.md, "Branches and restore")
            new Handlers("create-branch-record", "CreateBranchRecordHandler", 30, true, false),
            new Handlers("create-branch-timeline", "CreateBranchTimelineHandler", 120, true, false),
            new Handlers("activate-branch", "ActivateBranchHandler", 10, false, false),
            new Handlers("delete-branch-timeline", "DeleteBranchTimelineHandler", 120, true, false),
            new Handlers("discard-branch", "DiscardBranchHandler", 10, false, false),
            new Handlers("begin-branch-delete", "BeginBranchDeleteHandler", 10, false, false),
            new Handlers("delete-branch-record", "DeleteBranchRecordHandler", 10, false, false),
            new Handlers("begin-restore", "BeginRestoreHandler", 30, true, false),
            new Handlers("create-backup-branch", "CreateBackupBranchHandler", 10, false, false),
            new Handlers("repoint-branch", "RepointBranchHandler", 10, false, false),
            new Handlers("plan-endpoint-restart", "PlanEndpointRestartHandler", 10, false, false),
            new Handlers("discard-restore", "DiscardRestoreHandler", 10, false, false));

    /**
     * The steps that call {@code StorageControl} (functions' {@code AwsStorageControl}): they get the
     * storage services' addresses and read the replication and superuser passwords.
     */
    static final java.util.Set<String> STORAGE_STEPS = java.util.Set.of("elect", "create-timeline", "delete-timeline",
            "create-branch-record", "create-branch-timeline", "delete-branch-timeline", "begin-restore");

    /** The steps that may retire a compute agent (a failed suspend or wake): they stop its ECS task. */
    static final java.util.Set<String> RETIRING_STEPS = java.util.Set.of("release-agent", "mark-endpoint-failed");

    /** Calls the safekeepers and the pageserver through {@code StorageControl}. */
    public boolean callsStorageServices() {
        return STORAGE_STEPS.contains(step);
    }

    /** May retire a compute agent, which stops its pool task. */
    public boolean retiresAgents() {
        return RETIRING_STEPS.contains(step);
    }

    /** The Lambda function name, as the state machines' task ARNs spell it. */
    public String functionName() {
        return "strata-" + step;
    }

    /** The Lambda {@code handler} setting. */
    public String handler() {
        return PACKAGE + "." + simpleClassName + "::handleRequest";
    }

    /** The handler of a function name, if this app deploys one. */
    public static Optional<Handlers> byFunctionName(String functionName) {
        return ALL.stream().filter(h -> h.functionName().equals(functionName)).findFirst();
    }
}
