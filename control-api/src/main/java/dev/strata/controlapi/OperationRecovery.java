package dev.strata.controlapi;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
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
 * DescribeExecution first (not done). The input is the one the API stored on the operation item
 * ({@link Operation#input()}); an operation without one (scheduled by something else) is rebuilt from
 * its ids where that is enough (a start, a suspend, a delete-branch), else reported and left.
 */
public final class OperationRecovery {

    private static final Logger log = LoggerFactory.getLogger(OperationRecovery.class);

    /** What a pass did: the operations launched again, and those left with the reason. */
    public record Report(List<Operation> relaunched, Map<Operation, String> left) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

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

    /** The workflow that carries out operations of {@code kind}. */
    public static Workflow workflowOf(OperationKind kind) {
        return switch (kind) {
            case CREATE_PROJECT -> Workflow.CREATE_PROJECT;
            case START_COMPUTE -> Workflow.WAKE;
            case SUSPEND_COMPUTE -> Workflow.SUSPEND;
            case CREATE_BRANCH -> Workflow.CREATE_BRANCH;
            case DELETE_BRANCH -> Workflow.DELETE_BRANCH;
            case RESTORE_BRANCH -> Workflow.RESTORE;
        };
    }

    /** Launches {@code op}'s workflow again; empty when launched, else why not. */
    private Optional<String> recover(Operation op) {
        if (op.input().isPresent()) {
            Map<String, Object> stored;
            try {
                stored = JSON.readValue(op.input().get(), new TypeReference<Map<String, Object>>() { });
            } catch (java.io.IOException e) {
                return Optional.of("its stored workflow input is not JSON: " + e.getMessage());
            }
            Map<String, Object> in = new LinkedHashMap<>(stored);
            in.put("recoversExecution", op.executionArn().orElse(""));
            launcher.launch(workflowOf(op.kind()), op.id(), in);
            return Optional.empty();
        }
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
                return Optional.of("it has no stored workflow input, and its name or point is not on the item");
            }
            default -> throw new IllegalStateException(op.kind().name());
        }
        in.put("recoversExecution", op.executionArn().orElse(""));
        launcher.launch(w, op.id(), in);
        return Optional.empty();
    }
}
