package dev.strata.controlapi;

import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.Project;
import dev.strata.statemachines.Workflow;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs again the workflows of operations left SCHEDULED or RUNNING by executions that no longer run
 * (docs/control-plane.md "Crash recovery"): the same workflow, the input rebuilt from the operation and
 * the items it names, with {@code recoversExecution} = the dead execution, so its first step takes the
 * operation over and the idempotent steps finish or compensate it.
 *
 * <p>The caller vouches that no execution of these operations still runs: true locally after the JVM
 * (and with it the engine) restarted, which is when {@code strata up} would call it. On AWS it needs
 * DescribeExecution first (not done). Only the kinds whose input the operation item holds are
 * recovered: a start, a suspend, a delete-branch. A create-project, create-branch or restore needs its
 * name or point, which the item does not keep; they are reported and left as they are.
 */
public final class OperationRecovery {

    private static final Logger log = LoggerFactory.getLogger(OperationRecovery.class);

    /** What a pass did: the operations launched again, and those left with the reason. */
    public record Report(List<Operation> relaunched, Map<Operation, String> left) {
    }

    private final MetadataStore store;
    private final WorkflowLauncher launcher;

    public OperationRecovery(MetadataStore store, WorkflowLauncher launcher) {
        this.store = Objects.requireNonNull(store, "store is null");
        this.launcher = Objects.requireNonNull(launcher, "launcher is null");
    }

    public Report recoverAll() {
        List<Operation> relaunched = new ArrayList<>();
        Map<Operation, String> left = new LinkedHashMap<>();
        for (Project p : store.listProjects()) {
            for (Operation op : store.listOperations(p.id())) {
                if (op.state().isFinal()) {
                    continue;
                }
                Optional<String> why = recover(op);
                if (why.isEmpty()) {
                    relaunched.add(op);
                } else {
                    left.put(op, why.get());
                    log.warn("operation {} ({} {}) not recovered: {}", op.id(), op.kind(), op.state(), why.get());
                }
            }
        }
        return new Report(List.copyOf(relaunched), Map.copyOf(left));
    }

    /** Launches {@code op}'s workflow again; empty when launched, else why not. */
    private Optional<String> recover(Operation op) {
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("operationId", op.id().toString());
        Workflow w;
        switch (op.kind()) {
            case START_COMPUTE -> {
                Optional<Endpoint> e = op.endpoint().flatMap(store::getEndpoint);
                if (e.isEmpty()) {
                    return Optional.of("its endpoint " + op.endpoint().map(Object::toString).orElse("(none)") + " is gone");
                }
                w = Workflow.WAKE;
                in.put("endpointId", e.get().id().toString());
                in.put("projectId", e.get().project().toString());
                in.put("branchId", e.get().branch().toString());
            }
            case SUSPEND_COMPUTE -> {
                Optional<Endpoint> e = op.endpoint().flatMap(store::getEndpoint);
                if (e.isEmpty() || e.get().agent().isEmpty()) {
                    return Optional.of("its endpoint has no agent any more (" + e.map(x -> x.state().name()).orElse("gone")
                            + "); the suspend's compensation ran or another operation finished it");
                }
                w = Workflow.SUSPEND;
                in.put("endpointId", e.get().id().toString());
                in.put("agentId", e.get().agent().get().toString());
            }
            case DELETE_BRANCH -> {
                if (op.branch().isEmpty()) {
                    return Optional.of("it names no branch");
                }
                w = Workflow.DELETE_BRANCH;
                in.put("projectId", op.project().toString());
                in.put("branchId", op.branch().get().toString());
            }
            case CREATE_PROJECT, CREATE_BRANCH, RESTORE_BRANCH -> {
                return Optional.of("its workflow input (name, point) is not kept on the operation item");
            }
            default -> throw new IllegalStateException(op.kind().name());
        }
        in.put("recoversExecution", op.executionArn().orElse(""));
        launcher.launch(w, op.id(), in);
        return Optional.empty();
    }
}
