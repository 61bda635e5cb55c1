package dev.strata.statemachines;

import java.util.Objects;

/**
 * One event of an execution's history, as the engine logged it: {@code StateEntered},
 * {@code StateExited}, {@code StateFailed}, {@code StateRetried}, {@code StateCaught},
 * {@code ExecutionStarted/Succeeded/Failed/Timeout/Aborted}. Fields that do not apply are null
 * ({@code attempt} is the retry number for StateRetried, {@code next} the catcher's target for
 * StateCaught).
 */
public record HistoryEvent(String type, String state, String error, String cause, Integer attempt, String next) {
    public HistoryEvent {
        Objects.requireNonNull(type, "type is null");
    }
}
