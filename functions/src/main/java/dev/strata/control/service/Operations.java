package dev.strata.control.service;

import dev.strata.control.StepFailedException;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The operation item's part of every workflow: the first step marks it RUNNING with the execution,
 * the last forward step SUCCEEDED, the RecordFailure compensation FAILED with the error. Each is one
 * conditional write; a replay that finds the write already made returns the operation as it is.
 */
public final class Operations {

    private final MetadataStore store;
    private final Clock clock;

    public Operations(MetadataStore store, Clock clock) {
        this.store = Objects.requireNonNull(store, "store is null");
        this.clock = Objects.requireNonNull(clock, "clock is null");
    }

    /** The operation, which must exist and be of one of {@code kinds}. */
    public Operation require(OperationId id, Set<OperationKind> kinds) {
        Operation op = store.getOperation(id)
                .orElseThrow(() -> new StepFailedException("operation " + id + " does not exist"));
        if (!kinds.contains(op.kind())) {
            throw new StepFailedException("operation " + id + " is a " + op.kind() + ", not " + kinds);
        }
        return op;
    }

    public Operation require(OperationId id, OperationKind kind) {
        return require(id, Set.of(kind));
    }

    /**
     * SCHEDULED -> RUNNING as {@code executionArn}. Running already as that execution (a replay):
     * returned as it is. Running as another execution, or finished: refused, so one operation is
     * never run by two executions.
     */
    public Operation start(OperationId id, OperationKind kind, String executionArn) {
        return start(id, Set.of(kind), executionArn, Optional.empty());
    }

    /**
     * Like {@link #start(OperationId, OperationKind, String)}, for any of {@code kinds}, and with
     * recovery: an operation still RUNNING as {@code recovers} (an execution that died: the engine
     * was killed, or the execution was aborted or timed out) is taken over by {@code executionArn}
     * with one conditional write, so a new execution of the same workflow with the same operation id
     * finishes it (docs/control-plane.md#crash-recovery). The caller vouches that {@code recovers}
     * no longer runs; an operation running as any other execution is still refused.
     */
    public Operation start(OperationId id, Set<OperationKind> kinds, String executionArn, Optional<String> recovers) {
        Operation op = require(id, kinds);
        return switch (op.state()) {
            case SCHEDULED -> store.updateOperation(op, op.running(executionArn, clock.instant()));
            case RUNNING -> {
                if (op.executionArn().equals(Optional.of(executionArn))) {
                    yield op;
                }
                if (recovers.isPresent() && op.executionArn().equals(recovers)) {
                    yield store.updateOperation(op, op.running(executionArn, clock.instant()));
                }
                throw new StepFailedException("operation " + id + " is already running as execution "
                        + op.executionArn().orElse("(none)"));
            }
            case SUCCEEDED, FAILED -> throw new StepFailedException("operation " + id + " has already "
                    + op.state().name().toLowerCase(java.util.Locale.ROOT));
        };
    }

    /** RUNNING -> SUCCEEDED; SUCCEEDED already: returned as it is. */
    public Operation succeed(Operation op) {
        if (op.state() == OperationState.SUCCEEDED) {
            return op;
        }
        if (op.state() != OperationState.RUNNING) {
            throw new StepFailedException("operation " + op.id() + " is " + op.state() + ", cannot succeed");
        }
        return store.updateOperation(op, op.succeeded(clock.instant()));
    }

    /**
     * SCHEDULED or RUNNING -> FAILED with {@code error}; FAILED already: returned as it is (the
     * first error recorded stays). A SUCCEEDED operation is not turned into a failure: refused.
     */
    public Operation fail(OperationId id, String error) {
        Operation op = store.getOperation(id)
                .orElseThrow(() -> new StepFailedException("operation " + id + " does not exist"));
        return switch (op.state()) {
            case FAILED -> op;
            case SUCCEEDED -> throw new StepFailedException("operation " + id + " succeeded; not recording a failure: "
                    + error);
            case SCHEDULED, RUNNING -> store.updateOperation(op, op.failed(error, clock.instant()));
        };
    }
}
