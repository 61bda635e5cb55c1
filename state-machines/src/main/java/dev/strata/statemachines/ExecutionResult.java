package dev.strata.statemachines;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What a local execution ended with: its status, its output (SUCCEEDED) or its error and cause, and its
 * history. {@link #statesVisited()} is the order states were entered (what {@code strata operation list}
 * shows); the engine retries inside one entry, so a retried task appears once and
 * {@link #retries(String)} counts its retries.
 */
public record ExecutionResult(String executionId, ExecutionStatus status, JsonNode output, String error, String cause,
                              List<HistoryEvent> events, Duration elapsed) {

    public ExecutionResult {
        Objects.requireNonNull(executionId, "executionId is null");
        Objects.requireNonNull(status, "status is null");
        events = List.copyOf(events);
    }

    /** The states entered, in order. */
    public List<String> statesVisited() {
        return events.stream().filter(e -> e.type().equals("StateEntered")).map(HistoryEvent::state).toList();
    }

    /** How many times the state was retried. */
    public long retries(String state) {
        return events.stream().filter(e -> e.type().equals("StateRetried") && state.equals(e.state())).count();
    }

    /** The error each failure of the state had, in order (retried ones included). */
    public List<String> failures(String state) {
        return events.stream().filter(e -> e.type().equals("StateFailed") && state.equals(e.state()))
                .map(HistoryEvent::error).toList();
    }

    public boolean succeeded() {
        return status == ExecutionStatus.SUCCEEDED;
    }
}
