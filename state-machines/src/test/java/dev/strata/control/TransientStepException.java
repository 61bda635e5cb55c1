package dev.strata.control;

/**
 * Stand-in, for these tests only, for the exception the real handlers (the {@code functions} module)
 * throw for a transient failure: the workflows retry an error by this fully qualified name
 * ({@code WorkflowErrors.TRANSIENT}), which is what the Lambda Java runtime and
 * {@code LocalStepFunctions} report for it. Delete it once the functions module defines the class and
 * these tests depend on it.
 */
public class TransientStepException extends RuntimeException {
    public TransientStepException(String message) {
        super(message);
    }
}
