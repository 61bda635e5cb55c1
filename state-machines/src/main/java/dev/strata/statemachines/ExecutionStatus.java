package dev.strata.statemachines;

/** How a local execution ended (Step Functions' execution statuses, plus REJECTED). */
public enum ExecutionStatus {
    SUCCEEDED,
    /** Ended in a Fail state or an uncaught error: {@link ExecutionResult#error()} and cause say which. */
    FAILED,
    /** Ran past the definition's {@code TimeoutSeconds}, or past the caller's bound (then aborted). */
    TIMED_OUT,
    ABORTED,
    /** Never started: the definition, input or request was refused by the engine. */
    REJECTED
}
