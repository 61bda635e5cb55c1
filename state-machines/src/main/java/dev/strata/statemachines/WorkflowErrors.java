package dev.strata.statemachines;

import java.util.List;

/**
 * The error names the workflows' {@code Retry} and {@code Catch} fields match, and so the contract
 * with the Lambda handlers ({@code functions/}).
 *
 * <p>Step Functions names a Lambda function's error by the {@code errorType} the runtime reports; the
 * Java runtime reports the exception's fully qualified class name, and {@link LocalStepFunctions} does
 * the same. So a handler signals "try again" by throwing an exception of the class named
 * {@link #TRANSIENT} (a timed-out dependency, a lost conditional-write race worth re-reading); every
 * other exception is permanent: no retry, straight to the state's compensation. The {@code Lambda.*}
 * names are the service errors AWS recommends retrying on every Lambda task.
 */
public final class WorkflowErrors {

    /** The class a handler throws for a transient failure. The functions module defines it under this name. */
    public static final String TRANSIENT = "dev.strata.control.TransientStepException";

    /** Every error a task state retries with backoff; anything else is caught and compensated. */
    public static final List<String> RETRIED = List.of(
            "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException", TRANSIENT);

    /**
     * ClaimAgent's "a compute task was launched for this wake and is still starting": retried
     * longer than {@link #RETRIED}, by its own retrier (see {@code AgentStartingException}).
     */
    public static final String AGENT_STARTING = "dev.strata.control.AgentStartingException";

    /** A task that ran past its state's {@code TimeoutSeconds}: caught and compensated, never retried. */
    public static final String TIMEOUT = "States.Timeout";

    private WorkflowErrors() {
    }
}
