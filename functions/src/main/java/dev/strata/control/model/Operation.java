package dev.strata.control.model;

import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.ProjectId;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.Optional;

/**
 * One long-running change (a workflow execution) as operators and the cli see it: what it acts
 * on, its state, the Step Functions execution that runs it and, if it failed, why.
 */
public record Operation(OperationId id, ProjectId project, OperationKind kind, OperationState state,
                        Optional<BranchId> branch, Optional<EndpointId> endpoint, Optional<String> executionArn,
                        Optional<String> error, Optional<String> input, Instant createdAt, Instant updatedAt,
                        long version) implements Versioned {

    /** Longest workflow input kept on the item (the API's inputs are a few hundred bytes). */
    public static final int MAX_INPUT_LENGTH = 32 * 1024;

    public Operation {
        Objects.requireNonNull(id, "id is null");
        Objects.requireNonNull(project, "project is null");
        Objects.requireNonNull(kind, "kind is null");
        Objects.requireNonNull(state, "state is null");
        Objects.requireNonNull(branch, "branch is null");
        Objects.requireNonNull(endpoint, "endpoint is null");
        Objects.requireNonNull(executionArn, "executionArn is null");
        executionArn.ifPresent(a -> Names.check("execution ARN", a, Names.MAX_ARN_LENGTH));
        Objects.requireNonNull(error, "error is null");
        error = error.map(Names::cut);
        Objects.requireNonNull(input, "input is null");
        input.ifPresent(i -> {
            if (i.isEmpty() || i.length() > MAX_INPUT_LENGTH) {
                throw new IllegalArgumentException("operation " + id + ": a workflow input is 1 to " + MAX_INPUT_LENGTH
                        + " characters, got " + i.length());
            }
        });
        // stored as epoch milliseconds: keep only what survives the round trip
        createdAt = Objects.requireNonNull(createdAt, "createdAt is null").truncatedTo(ChronoUnit.MILLIS);
        updatedAt = Objects.requireNonNull(updatedAt, "updatedAt is null").truncatedTo(ChronoUnit.MILLIS);
        Names.checkVersion(version);
    }

    /** A new operation, SCHEDULED. */
    public static Operation schedule(OperationId id, ProjectId project, OperationKind kind, Optional<BranchId> branch,
                                     Optional<EndpointId> endpoint, Instant now) {
        return new Operation(id, project, kind, OperationState.SCHEDULED, branch, endpoint, Optional.empty(),
                Optional.empty(), Optional.empty(), now, now, 0);
    }

    /** RUNNING as execution {@code arn}. */
    public Operation running(String arn, Instant now) {
        return new Operation(id, project, kind, OperationState.RUNNING, branch, endpoint, Optional.of(arn), error,
                input, createdAt, now, version);
    }

    public Operation succeeded(Instant now) {
        return new Operation(id, project, kind, OperationState.SUCCEEDED, branch, endpoint, executionArn,
                Optional.empty(), input, createdAt, now, version);
    }

    public Operation failed(String why, Instant now) {
        return new Operation(id, project, kind, OperationState.FAILED, branch, endpoint, executionArn,
                Optional.of(why), input, createdAt, now, version);
    }

    /**
     * With the workflow input it is run with (JSON, without {@code recoversExecution}), kept so that a
     * recovery can run the same workflow again (docs/control-plane.md "API").
     */
    public Operation withInput(String json) {
        return new Operation(id, project, kind, state, branch, endpoint, executionArn, error, Optional.of(json),
                createdAt, updatedAt, version);
    }

    public Operation withVersion(long v) {
        return new Operation(id, project, kind, state, branch, endpoint, executionArn, error, input, createdAt,
                updatedAt, v);
    }
}
