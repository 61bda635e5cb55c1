package dev.strata.control.model;

/** What an operation does; each kind is one Step Functions workflow (state-machines/). */
public enum OperationKind {
    CREATE_PROJECT,
    START_COMPUTE,
    SUSPEND_COMPUTE,
    CREATE_BRANCH,
    RESTORE_BRANCH,
    DELETE_BRANCH
}
