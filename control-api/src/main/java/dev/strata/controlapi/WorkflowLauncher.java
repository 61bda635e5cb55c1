package dev.strata.controlapi;

import dev.strata.control.model.OperationId;
import dev.strata.statemachines.Workflow;
import java.util.Map;

/**
 * Starts the workflow that carries out an operation. The operation is already recorded (SCHEDULED)
 * when this is called; the workflow's first step moves it to RUNNING with its execution's id, its
 * last step (or its RecordFailure compensation) finishes it. Implementations: {@link LocalWorkflowLauncher}
 * (the local ASL engine, for {@code strata up} and tests) and {@link StepFunctionsLauncher} (AWS).
 *
 * <p>Launching is idempotent per operation id: a second launch of the same operation (two API calls
 * that resolved to the same operation, or a retried call) starts nothing new. The execution's name is
 * the operation id.
 */
public interface WorkflowLauncher extends AutoCloseable {

    /**
     * Starts {@code workflow} for {@code operation} with {@code input} and returns without waiting for
     * it; throws if it could not be started (the caller then records the operation FAILED).
     */
    void launch(Workflow workflow, OperationId operation, Map<String, Object> input);

    @Override
    default void close() {
    }
}
